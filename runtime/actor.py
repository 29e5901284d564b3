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

import contextlib
import math
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast, final

import attrs
import trio

from gnomon.runtime.errors import ActorCrashed, ActorGone, AskTimeout, describe

M = TypeVar("M")
R = TypeVar("R")

DEFAULT_ASK_TIMEOUT = 30.0
_PRUNE_IN_HAND_AT = 32


class StopRequested(Exception):
    """Raised by :meth:`Mailbox.receive` once the supervisor asked the actor to stop.

    ``async for msg in ctx.inbox`` ends quietly instead; an actor that lets this
    propagate from ``receive`` is recorded as a clean shutdown, not a crash.
    """


@final
class Reply(Generic[R]):
    """A one-shot answer slot carried by a :class:`Request`.

    The handler calls :meth:`send` (or :meth:`fail` for a domain error the caller should
    see, e.g. ``NotFound``). The kernel completes every reply an incarnation received but
    did not answer when that incarnation ends, so a caller never waits forever.
    """

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = trio.Event()
        self._value: R | None = None
        self._error: Exception | None = None

    @property
    def done(self) -> bool:
        """True once a value or an error was delivered."""
        return self._done.is_set()

    def send(self, value: R) -> None:
        """Deliver the answer. Never blocks. Raises ``RuntimeError`` if already answered."""
        self._complete(value, None)

    def fail(self, error: Exception) -> None:
        """Deliver an error that ``ask`` will raise in the caller."""
        self._complete(None, error)

    def _complete(self, value: R | None, error: Exception | None) -> None:
        if self._done.is_set():
            raise RuntimeError("reply already sent")
        self._value, self._error = value, error
        self._done.set()

    def _abandon(self, error: Exception) -> None:
        if not self._done.is_set():
            self._complete(None, error)

    async def wait(self) -> R:
        """Wait for the answer; re-raise a delivered error."""
        await self._done.wait()
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


class _StopSignal:
    """Put in the mailbox (when there is room) to wake an idle actor that must stop."""


_STOP_SIGNAL = _StopSignal()


class Mailbox(Generic[M]):
    """A bounded message queue owned by a supervisor cell; survives actor restarts.

    Cancellation: ``receive`` is atomic — cancelled, it loses no message. A graceful stop
    request wakes an actor blocked in ``receive`` through a signal in the queue, so an
    idle actor holds no cancel scope (idle actors must be cheap: there may be 100k).
    """

    __slots__ = (
        "_closed",
        "_in_hand",
        "_on_first_receive",
        "_prune_at",
        "_recv",
        "_send",
        "_stop_event",
        "_stopping",
        "capacity",
        "dropped",
        "owner",
    )

    def __init__(self, capacity: int, owner: str) -> None:
        if capacity < 0:
            raise ValueError("mailbox capacity must be >= 0")
        self.owner = owner
        self.capacity = capacity
        self.dropped = 0
        self._send, self._recv = trio.open_memory_channel[M | _StopSignal](capacity)
        self._stopping = False
        self._stop_event: trio.Event | None = None
        self._on_first_receive: Callable[[], None] | None = None
        self._in_hand: list[Reply[Any]] | None = None
        self._prune_at = _PRUNE_IN_HAND_AT
        self._closed = False

    @property
    def depth(self) -> int:
        """Messages queued now."""
        return self._recv.statistics().current_buffer_used

    @property
    def closed(self) -> bool:
        """True once the owning cell removed the actor for good."""
        return self._closed

    @property
    def stop_requested(self) -> bool:
        """True once the supervisor asked the current incarnation to stop."""
        return self._stopping

    async def wait_stop_requested(self) -> None:
        """Return when the supervisor asks the current incarnation to stop."""
        if self._stopping:
            await trio.lowlevel.checkpoint()
            return
        if self._stop_event is None:
            self._stop_event = trio.Event()
        await self._stop_event.wait()

    async def receive(self) -> M:
        """Take the next message, waiting as long as needed.

        Raises:
            StopRequested: the supervisor asked this incarnation to stop.
        """
        msg = await self.receive_until(math.inf)
        assert msg is not None  # an infinite deadline never times out
        return msg

    async def receive_until(self, deadline: float, *, draining: bool = False) -> M | None:
        """Take the next message, or return ``None`` when trio time reaches ``deadline``.

        This merges "next message" and "next timer" in one wait, so an actor needs no
        timer service. Raises :class:`StopRequested` like :meth:`receive`, unless
        ``draining``: an actor that finishes work in flight after a stop request (within
        its ``shutdown`` bound) receives with ``draining=True``, and then a stop request
        wakes it with ``None`` (check :attr:`stop_requested`) instead of raising.
        """
        self._signal_ready()
        while True:
            if self._stopping and not draining:
                raise StopRequested
            # a queued message wins over a deadline already past: an actor whose timers
            # run late (overload) must still hear news, e.g. that its run ended
            try:
                msg = self._recv.receive_nowait()
            except trio.WouldBlock:
                if deadline == math.inf:
                    msg = await self._recv.receive()
                else:
                    with trio.move_on_at(deadline) as scope:
                        msg = await self._recv.receive()
                    if scope.cancelled_caught:
                        return None
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()  # yield, keep the message
            if not isinstance(msg, _StopSignal):
                self._hold(msg)
                return msg
            if draining and self._stopping:
                return None  # woken by the stop request; a stale signal is just skipped

    def receive_nowait(self) -> M:
        """Take a queued message without waiting (for draining a batch).

        Raises:
            trio.WouldBlock: nothing is queued (stop signals are skipped).
        """
        while True:
            msg = self._recv.receive_nowait()
            if not isinstance(msg, _StopSignal):
                self._hold(msg)
                return msg

    def __aiter__(self) -> Mailbox[M]:
        return self

    async def __anext__(self) -> M:
        try:
            return await self.receive()
        except StopRequested:
            raise StopAsyncIteration from None

    # -- kernel side -------------------------------------------------------------

    def _hold(self, msg: object) -> None:
        if isinstance(msg, Request):
            in_hand = self._in_hand
            if in_hand is None:
                self._in_hand = [msg.reply]
                return
            in_hand.append(msg.reply)
            if len(in_hand) >= self._prune_at:
                # answered replies are dropped when the list doubles past what was still
                # unanswered at the last prune: amortised O(1) per request, even for the
                # store writer that holds hundreds of requests per batch
                kept = [r for r in in_hand if not r.done]
                self._in_hand = kept
                self._prune_at = max(_PRUNE_IN_HAND_AT, 2 * len(kept))

    def _signal_ready(self) -> None:
        callback, self._on_first_receive = self._on_first_receive, None
        if callback is not None:
            callback()

    def _begin_incarnation(self, on_first_receive: Callable[[], None]) -> None:
        self._stopping = False
        self._stop_event = None
        self._on_first_receive = on_first_receive
        self._in_hand = None
        self._prune_at = _PRUNE_IN_HAND_AT

    def _end_incarnation(self, error: Exception) -> None:
        self._on_first_receive = None
        for reply in self._in_hand or ():
            reply._abandon(error)
        self._in_hand = None

    def _request_stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        with contextlib.suppress(trio.WouldBlock, trio.BrokenResourceError):
            self._send.send_nowait(_STOP_SIGNAL)

    def _close(self) -> None:
        """Close for good: queued requests and blocked senders get :class:`ActorGone`."""
        if self._closed:
            return
        self._closed = True
        gone = ActorGone(f"actor {self.owner} is stopped")
        while True:
            try:
                msg = self._recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if isinstance(msg, Request):
                msg.reply._abandon(gone)
        self._recv.close()
        self._end_incarnation(gone)


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
        try:
            await self.mailbox._send.send(msg)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorGone(f"actor {self.path} is stopped") from None

    def try_tell(self, msg: M) -> bool:
        """Send without blocking; return ``False`` (and count a drop) when full.

        Raises:
            ActorGone: the actor stopped for good.
        """
        try:
            self.mailbox._send.send_nowait(msg)
        except trio.WouldBlock:
            self.mailbox.dropped += 1
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorGone(f"actor {self.path} is stopped") from None
        return True

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
