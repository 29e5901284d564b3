"""gnomon's exception tree — every error a caller may see, in one place.

Errors are translated at boundaries: the gateway turns them into JSON-RPC error codes,
the CLI into exit codes (docs/commands.md), both read from the class attributes below::

    GnomonError                       internal error          exit 1   rpc -32603
    ├── ActorError                    kernel failures
    │   ├── ActorCrashed              the actor died while handling your request   -32006
    │   ├── ActorGone                 the actor is stopped; its mailbox is closed  -32006
    │   ├── AskTimeout                no answer within the ask timeout            -32005
    │   └── SupervisorGaveUp          restart intensity exceeded; escalates up    -32006
    ├── InvalidInput                  bad DSL, flag, config value or params  exit 2  -32602
    ├── NotFound                      no such job, token, breaker…           exit 3  -32001
    ├── Conflict                      name taken, illegal transition, cycle  exit 2  -32002
    ├── Refused                       policy deny/ask, rate limit, quota     exit 4  -32004
    │   └── Unauthorized              missing/bad token, scope too small     exit 4  -32003
    ├── DaemonUnreachable             no daemon answers                      exit 5
    ├── ShuttingDown                  the daemon is draining                 exit 5  -32007
    └── StoreUnavailable              disk full, read-only, I/O error, corrupt exit 5  -32008

``InvalidInput`` carries the offending token and the accepted forms so that every
message can say what was wrong *and* what would have been right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class GnomonError(Exception):
    """Base of every error gnomon raises on purpose."""

    exit_code: ClassVar[int] = 1
    rpc_code: ClassVar[int] = -32603
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint


class ActorError(GnomonError):
    """A failure of the actor kernel rather than of the domain."""

    rpc_code = -32006


class ActorCrashed(ActorError):
    """The actor raised while it held your request; the request was not completed."""


class ActorGone(ActorError):
    """The actor has stopped for good; nothing sent to it will be processed."""


class AskTimeout(ActorError, TimeoutError):
    """The actor did not answer within the ``ask`` timeout."""

    rpc_code = -32005


class SupervisorGaveUp(ActorError):
    """A supervisor exceeded its restart intensity and stopped all of its children.

    Raised exactly once, by the supervisor's ``run``, never wrapped in an exception group,
    so the parent can treat it as an ordinary abnormal exit of one child.
    """

    def __init__(
        self,
        supervisor: str,
        child: str,
        restarts: int,
        period: float,
        *,
        significant: bool = False,
    ) -> None:
        why = (
            f"its significant child {child!r} failed"
            if significant
            else f"child {child!r} needed more than {restarts} restarts within {period:g}s"
        )
        super().__init__(f"supervisor {supervisor!r} gave up: {why}")
        self.supervisor = supervisor
        self.child = child


class InvalidInput(GnomonError, ValueError):
    """Input that does not parse or validate (a ``ValueError`` too, for attrs/cattrs).

    Attributes:
        token: the offending piece of input, verbatim (may be empty).
        accepted: the forms that would have been accepted, for the message and ``hint``.
        field: the dotted field path when the input was structured (JSON, flags).
        details: field-level messages, one per problem (``"<description> @ $.path"``).
    """

    exit_code = 2
    rpc_code = -32602

    def __init__(
        self,
        message: str,
        *,
        token: str | None = None,
        accepted: Sequence[str] = (),
        field: str | None = None,
        hint: str | None = None,
        details: Sequence[str] = (),
    ) -> None:
        full = message
        if accepted:
            full = f"{message}; accepted forms: {', '.join(accepted)}"
        super().__init__(full, hint=hint)
        self.token = token
        self.accepted = tuple(accepted)
        self.field = field
        self.details = tuple(details)


class NotFound(GnomonError):
    """The referenced thing does not exist (or is not visible to the caller)."""

    exit_code = 3
    rpc_code = -32001


class Conflict(GnomonError):
    """The request contradicts current state: a live name clash, a DAG cycle, a terminal job."""

    exit_code = 2
    rpc_code = -32002


class Refused(GnomonError):
    """A rule refused the request: shell policy, rate limit, quota, agents switched off.

    Attributes:
        reason: a bounded reason code (the ``gnomon_enqueue_errors_total`` label).
        retry_after: seconds after which the same request may succeed, when known.
    """

    exit_code = 4
    rpc_code = -32004

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.retry_after = retry_after


class Unauthorized(Refused):
    """No valid token, or the token's scope does not cover the request."""

    rpc_code = -32003

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, reason="unauthorized", hint=hint)


class DaemonUnreachable(GnomonError):
    """No gnomon daemon answers at the configured address."""

    exit_code = 5


class ShuttingDown(GnomonError):
    """The daemon is draining and accepts no new work."""

    exit_code = 5
    rpc_code = -32007


class StoreUnavailable(GnomonError):
    """The store cannot do its work: the disk is full, read-only or failing, or the
    database is corrupt. The message starts with the kind (``disk full: …``, ``database
    corrupt: …``) and names the file; ``recoverable`` faults clear by themselves once a
    write succeeds again (space freed), the others need the operator."""

    exit_code = 5
    rpc_code = -32008

    def __init__(self, message: str, *, recoverable: bool = True, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.recoverable = recoverable


def wire_data(exc: GnomonError) -> dict[str, Any]:
    """The ``data`` of ``exc``'s JSON-RPC error object (docs/protocol.md, "Errors")."""
    data: dict[str, Any] = {"kind": type(exc).__name__}
    if exc.hint:
        data["hint"] = exc.hint
    if isinstance(exc, InvalidInput):
        data.update(
            token=exc.token,
            accepted=list(exc.accepted),
            field=exc.field,
            details=list(getattr(exc, "details", ()) or ()),
        )
    if isinstance(exc, Refused):
        data.update(reason=exc.reason, retry_after=exc.retry_after)
    return data


def describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, looking through exception groups that hold a single
    exception (a nursery's wrapping adds nothing for a human)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def sole_error(exc: BaseException) -> BaseException:
    """The one real error inside nested exception groups (``exc`` itself when it is no
    group or holds several): sibling tasks' cancellations (trio's ``Cancelled``) are
    ignored, so a ``KeyboardInterrupt`` or a ``GnomonError`` raised in one task of a nursery
    comes out as itself."""
    leaves: list[BaseException] = []
    pending = [exc]
    while pending:
        item = pending.pop()
        if isinstance(item, BaseExceptionGroup):
            pending.extend(item.exceptions)
        elif type(item).__name__ != "Cancelled":
            leaves.append(item)
    return leaves[0] if len(leaves) == 1 else exc
