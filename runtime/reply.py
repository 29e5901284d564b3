"""Request/reply: the one-shot answer slot an ``ask`` waits on (docs/supervision.md).

Re-exported by :mod:`gnomon.runtime.actor`, where the kernel's users import it from.
"""

from __future__ import annotations

from typing import Generic, TypeVar, cast, final

import attrs
import trio

from gnomon.runtime.parking import Task, park, wake

R = TypeVar("R")


@final
class Reply(Generic[R]):
    """A one-shot answer slot carried by a :class:`Request`.

    The handler calls :meth:`send` (or :meth:`fail` for a domain error the caller should
    see, e.g. ``NotFound``). The kernel completes every reply an incarnation received but
    did not answer when that incarnation ends, so a caller never waits forever. A reply
    holds no event: the list of its waiters exists only while someone waits.
    """

    __slots__ = ("_done", "_error", "_value", "_waiters")

    def __init__(self) -> None:
        self._done = False
        self._value: R | None = None
        self._error: Exception | None = None
        self._waiters: list[Task] | None = None

    @property
    def done(self) -> bool:
        """True once a value or an error was delivered."""
        return self._done

    def send(self, value: R) -> None:
        """Deliver the answer. Never blocks. Raises ``RuntimeError`` if already answered."""
        self._complete(value, None)

    def fail(self, error: Exception) -> None:
        """Deliver an error that ``ask`` will raise in the caller."""
        self._complete(None, error)

    def _complete(self, value: R | None, error: Exception | None) -> None:
        if self._done:
            raise RuntimeError("reply already sent")
        self._value, self._error, self._done = value, error, True
        waiters, self._waiters = self._waiters, None
        for task in waiters or ():
            wake(task)

    def _abandon(self, error: Exception) -> None:
        if not self._done:
            self._complete(None, error)

    async def wait(self) -> R:
        """Wait for the answer; re-raise a delivered error.

        Cancellation: a checkpoint even when the answer is in; cancelled, the answer stays
        in the reply (a later ``wait`` still gets it).
        """
        if self._done:
            await trio.lowlevel.checkpoint()
        else:
            if self._waiters is None:
                self._waiters = []
            await park(self._waiters)
        if self._error is not None:
            raise self._error
        return cast("R", self._value)


@attrs.frozen(kw_only=True)
class Request(Generic[R]):
    """Base of messages that expect an answer of type ``R``.

    Subclass it with ``@attrs.frozen(kw_only=True)``; each instance gets a fresh
    :class:`Reply` in ``reply``.
    """

    reply: Reply[R] = attrs.field(factory=Reply, eq=False, repr=False)
