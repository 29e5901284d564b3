"""Actors: addresses, bounded mailboxes and request/reply.

An actor is a coroutine ``async def actor(ctx: ActorContext[M]) -> None`` that receives
messages from ``ctx.inbox`` and runs inside a supervisor cell (:mod:`.supervisor`). The
:class:`Mailbox` belongs to the cell, not to one incarnation of the actor: when the actor
crashes and is restarted, its :class:`ActorRef` stays valid and queued messages wait for
the next incarnation. Only the message being handled at the crash is lost, and whoever
asked it gets :class:`~gnomon.runtime.errors.ActorCrashed` at once, never a hang.

Three ways to send:

* ``await ref.tell(msg)`` waits while the mailbox is full (backpressure).
* ``ref.try_tell(msg)`` never blocks; a full mailbox drops the message, counts it in
  ``Mailbox.dropped`` and returns ``False``.
* ``await ref.ask(request, timeout)`` sends a :class:`Request` and waits for its
  :class:`Reply`; see :meth:`ActorRef.ask` for the errors.
"""

from __future__ import annotations

from typing import Generic, TypeVar, cast

import attrs
import trio

from gnomon.runtime.errors import ActorCrashed, AskTimeout, describe
from gnomon.runtime.mailbox import Mailbox as Mailbox
from gnomon.runtime.mailbox import StopRequested as StopRequested
from gnomon.runtime.reply import Reply as Reply
from gnomon.runtime.reply import Request as Request

M = TypeVar("M")
R = TypeVar("R")

DEFAULT_ASK_TIMEOUT = 30.0


@attrs.frozen
class ActorRef(Generic[M]):
    """The address of an actor: holding one is the capability to send to it.

    Refs stay valid across restarts of the actor (the mailbox belongs to its cell).
    """

    kind: str
    id: str
    mailbox: Mailbox[M] = attrs.field(repr=False, eq=False)

    @property
    def path(self) -> str:
        """``kind:id``, the actor's name in logs and events."""
        return f"{self.kind}:{self.id}"

    async def tell(self, msg: M) -> None:
        """Send, waiting while the mailbox is full (backpressure).

        Raises:
            ActorGone: the actor stopped for good.
        """
        await self.mailbox.put(msg)

    def try_tell(self, msg: M) -> bool:
        """Send without blocking; return ``False`` (and count a drop) when full.

        Raises:
            ActorGone: the actor stopped for good.
        """
        if self.mailbox.offer(msg):
            return True
        self.mailbox.dropped += 1
        return False

    async def ask(self, request: Request[R], timeout: float | None = DEFAULT_ASK_TIMEOUT) -> R:
        """Send ``request`` and wait for its answer.

        The timeout covers both waiting for mailbox space and waiting for the answer;
        ``None`` waits forever. Cancellation: cancelling the caller abandons the answer
        (the actor may still process the request).

        Raises:
            AskTimeout: no answer within ``timeout`` seconds.
            ActorCrashed: the actor raised while holding the request.
            ActorGone: the actor stopped before answering.
            Exception: whatever the handler passed to :meth:`Reply.fail`.
        """
        if timeout is None:  # no deadline: no cancel scope either (hot path of job actors)
            await self.tell(cast("M", request))
            return await request.reply.wait()
        limit = timeout
        with trio.move_on_after(limit) as scope:
            await self.tell(cast("M", request))
            return await request.reply.wait()
        assert scope.cancelled_caught
        raise AskTimeout(
            f"actor {self.path} did not answer {type(request).__name__} within {limit:g}s"
        )


@attrs.frozen
class ActorContext(Generic[M]):
    """What a running actor incarnation gets from its cell."""

    ref: ActorRef[M]
    incarnation: int

    @property
    def inbox(self) -> Mailbox[M]:
        """The actor's mailbox (the same object across incarnations)."""
        return self.ref.mailbox

    @property
    def stop_requested(self) -> bool:
        """True once the supervisor asked this incarnation to stop gracefully."""
        return self.ref.mailbox.stop_requested

    def ready(self) -> None:
        """Tell the supervisor that initialisation is done.

        Optional: the first ``inbox.receive`` (or returning) counts as ready too. Until
        the actor is ready, a crash in its *first* start is raised to whoever started it.
        """
        self.ref.mailbox._signal_ready()

    async def wait_stop_requested(self) -> None:
        """Return when the supervisor asks this incarnation to stop gracefully."""
        await self.ref.mailbox.wait_stop_requested()


def crash_error(ref_path: str, exc: BaseException) -> ActorCrashed:
    """The error an asker sees when the actor crashed while holding its request."""
    err = ActorCrashed(f"actor {ref_path} crashed: {describe(exc)}")
    err.__cause__ = exc
    return err
