"""The seam between the engine and the outside world: executors run actions, evaluators
check conditions.

The job actor calls ``Executor.run`` inside a cancel scope carrying the action timeout;
cancelling that scope (timeout, ``jobs cancel``, shutdown) must stop the action promptly
and, for processes, kill the whole process group. Executors never raise for domain
failures (exit code, HTTP status, refused policy): they return an :class:`ActionResult`.
They raise only ``trio.Cancelled`` (let it through) or on bugs.

Evaluators are the same for conditions: one poll, three-valued, never raising for a
failed probe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

import attrs

from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.job import CreatedBy, Owner

SpawnHook = Callable[[int, int], Awaitable[None]]


async def _ignore_spawn(pid: int, pgid: int) -> None:
    return None


@attrs.define
class OutputTap:
    """The output a run has produced so far, readable while it runs: an executor that
    captures output points ``read`` at its buffer, so a run killed from outside (a daemon
    stop's interruption) still records what it printed."""

    read: Callable[[], str] = lambda: ""


@attrs.frozen(kw_only=True)
class RunContext:
    """Everything an executor may know about the run it performs.

    Attributes:
        on_spawn: awaited with ``(pid, pgid)`` right after a child process starts, before
            waiting on it; the engine persists them so a daemon restart can find orphans.
        i_know: the job's confirmation of ``ask``-class shell commands.
        idempotency_key: ``<job id>:<fire time ISO>`` — sent by webhooks.
        tap: where the executor exposes the output so far (see :class:`OutputTap`).
        created_by: the token (and scope) that created the job: a slash command runs
            with exactly that authority (a job credential, runtime/gateway/credentials.py).
    """

    job_id: str
    job_name: str
    run_id: str
    fire_time: datetime
    attempt: int
    owner: Owner
    timeout: float
    i_know: bool = False
    cwd: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict)
    on_spawn: SpawnHook = _ignore_spawn
    tap: OutputTap = attrs.field(factory=OutputTap)
    created_by: CreatedBy = attrs.field(factory=CreatedBy)

    @property
    def idempotency_key(self) -> str:
        return f"{self.job_id}:{self.fire_time.isoformat()}"


@attrs.frozen(kw_only=True)
class ActionResult:
    """What one execution of an action did.

    Attributes:
        outcome: ``success``, ``failed`` or ``timeout`` (``cancelled`` and
            ``breaker_open`` are decided by the engine, not by executors).
        transient: the failure may go away by itself (connection refused, 5xx, 429…); the
            retry policy and the breaker use it.
        retry_after: seconds the target asked us to wait (``Retry-After``), if any.
        output: the tail of the output (bounded; secrets redacted).
        breaker_failure: counts as a failure for the target's circuit breaker.
    """

    outcome: Outcome
    exit_code: int | None = None
    output: str = ""
    error: str = ""
    transient: bool = False
    retry_after: float | None = None
    breaker_failure: bool = False
    pid: int | None = None
    pgid: int | None = None
    tokens: int | None = None
    cost_usd: float | None = None


class Executor(Protocol):
    """Runs actions of any type."""

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        """Run ``action``; cancellation stops it (killing its process group)."""
        ...


@attrs.frozen(kw_only=True)
class PollContext:
    """What an evaluator may know about the poll it performs."""

    job_id: str
    job_name: str
    owner: Owner
    poll: int
    timeout: float
    i_know: bool = False
    cwd: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Verdict:
    """One poll's three-valued result.

    ``value`` is ``True``/``False``, or ``None`` for an evaluation error; an error is
    ``transient`` (poll again) or permanent (the wait ends with ``summary`` as message).
    ``breaker_failure`` marks errors that count against the target's breaker (a clean
    ``False``, e.g. a 404 against ``==200``, never does).
    """

    value: bool | None
    summary: str = ""
    transient: bool = True
    breaker_failure: bool = False

    @property
    def error(self) -> bool:
        return self.value is None


class Evaluator(Protocol):
    """Evaluates conditions of any type, composites included."""

    async def evaluate(self, condition: Condition, ctx: PollContext) -> Verdict:
        """Evaluate once; cancellation stops the probe (killing any process group)."""
        ...
