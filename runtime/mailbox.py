"""The bounded mailbox of an actor: a plain queue with tasks parked on it only while they
wait (docs/performance.md, "Kernel").

Not a trio memory channel: an idle actor's mailbox is a list and a few fields; the lists
of parked receivers and the table of senders blocked on a full mailbox are made the first
time someone waits. Semantics are a memory channel's: FIFO, ``capacity`` messages (0: a
send waits for a receiver), blocked senders served in order, an atomic receive (cancelled,
it loses no message), closing fails blocked senders. Re-exported by
:mod:`gnomon.runtime.actor`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

import trio

from gnomon.runtime.errors import ActorGone
from gnomon.runtime.parking import Task, fail, park, park_holding, wake
from gnomon.runtime.reply import Reply, Request

M = TypeVar("M")

_PRUNE_IN_HAND_AT = 32
_COMPACT_AT = 32  # taken slots at the head of the queue before the list is compacted


class StopRequested(Exception):
    """Raised by :meth:`Mailbox.receive` once the supervisor asked the actor to stop.

    ``async for msg in ctx.inbox`` ends quietly instead; an actor that lets this
    propagate from ``receive`` is recorded as a clean shutdown, not a crash.
    """


class _StopSignal:
    """Handed to a receiver to wake it when the supervisor asks the actor to stop."""


_STOP_SIGNAL = _StopSignal()
_EMPTY = object()  # what Mailbox._take returns when nothing is queued


class Mailbox(Generic[M]):
    """A bounded message queue owned by a supervisor cell; survives actor restarts.

    Cancellation: ``receive`` is atomic — cancelled, it loses no message. A graceful stop
    request wakes an actor blocked in ``receive`` by handing it a stop signal, and one
    that is not waiting sees it once its queue is empty, so an idle actor holds no cancel
    scope (idle actors must be cheap: there may be 100k).
    """

    __slots__ = (
        "_closed",
        "_head",
        "_in_hand",
        "_on_first_receive",
        "_prune_at",
        "_queue",
        "_receivers",
        "_senders",
        "_stop_event",
        "_stop_unseen",
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
        self._queue: list[object] = []
        self._head = 0  # messages before it were taken (the slots are None)
        self._receivers: list[Task] | None = None
        self._senders: dict[Task, object] | None = None
        self._stopping = False
        self._stop_unseen = False  # a stop request no receiver has woken for yet
        self._stop_event: trio.Event | None = None
        self._on_first_receive: Callable[[], None] | None = None
        self._in_hand: list[Reply[Any]] | None = None
        self._prune_at = _PRUNE_IN_HAND_AT
        self._closed = False

    @property
    def depth(self) -> int:
        """Messages queued now."""
        return len(self._queue) - self._head

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
        wakes it once with ``None`` (check :attr:`stop_requested`) instead of raising —
        after the messages queued before it.
        """
        self._signal_ready()
        while True:
            if self._stopping and not draining:
                raise StopRequested
            # a queued message wins over a deadline already past: an actor whose timers
            # run late (overload) must still hear news, e.g. that its run ended
            msg = self._take()
            if msg is not _EMPTY:
                await trio.lowlevel.cancel_shielded_checkpoint()  # yield, keep the message
            else:
                if self._receivers is None:
                    self._receivers = []
                if deadline == math.inf:
                    msg = await park(self._receivers)
                else:
                    with trio.move_on_at(deadline) as scope:
                        msg = await park(self._receivers)
                    if scope.cancelled_caught:
                        return None
            if not isinstance(msg, _StopSignal):
                self._hold(msg)
                return cast("M", msg)
            if draining and self._stopping:
                return None  # woken by the stop request

    def receive_nowait(self) -> M:
        """Take a queued message without waiting (for draining a batch).

        Raises:
            trio.WouldBlock: nothing is queued (a pending stop wake-up is skipped).
        """
        while True:
            msg = self._take()
            if msg is _EMPTY:
                raise trio.WouldBlock
            if not isinstance(msg, _StopSignal):
                self._hold(msg)
                return cast("M", msg)

    def __aiter__(self) -> Mailbox[M]:
        return self

    async def __anext__(self) -> M:
        try:
            msg = await self.receive_until(math.inf)  # not receive(): one frame less idle
        except StopRequested:
            raise StopAsyncIteration from None
        assert msg is not None
        return msg

    # -- the queue ---------------------------------------------------------------------

    def offer(self, msg: M) -> bool:
        """Queue ``msg`` (or hand it to a waiting receiver) if there is room; never blocks.

        Raises:
            ActorGone: the mailbox is closed.
        """
        if self._closed:
            raise ActorGone(f"actor {self.owner} is stopped")
        if self._receivers:  # someone waits: the queue is empty
            wake(self._receivers.pop(0), msg)
        elif len(self._queue) - self._head < self.capacity:
            self._queue.append(msg)
        else:
            return False
        return True

    async def put(self, msg: M) -> None:
        """Queue ``msg``, waiting while the mailbox is full (in order with other senders).

        Cancellation: cancelled while waiting, ``msg`` is not queued.

        Raises:
            ActorGone: the mailbox is closed (also while waiting).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        if self.offer(msg):
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        if self._senders is None:
            self._senders = {}
        await park_holding(self._senders, msg)

    def _take(self) -> object:
        """The next message, a blocked sender's (the queue took it), or the stop signal
        once the queue is empty; ``_EMPTY`` when there is none (no exception: a receive
        that parks inside an ``except`` block keeps the exception alive while it waits).

        Raises:
            trio.ClosedResourceError: closed, and nothing left.
        """
        queue, head = self._queue, self._head
        if head < len(queue):
            msg = queue[head]
            head += 1
            if head == len(queue):
                queue.clear()
                head = 0
            elif head >= _COMPACT_AT and 2 * head >= len(queue):
                del queue[:head]
                head = 0
            else:
                queue[head - 1] = None
            self._head = head
            if self._senders:  # room for the first blocked sender's message
                queue.append(self._unblock_sender())
            return msg
        if self._senders:  # capacity 0: take it from the sender
            return self._unblock_sender()
        if self._stop_unseen:
            self._stop_unseen = False
            return _STOP_SIGNAL
        if self._closed:
            raise trio.ClosedResourceError
        return _EMPTY

    def _unblock_sender(self) -> object:
        assert self._senders is not None
        task = next(iter(self._senders))
        wake(task)
        return self._senders.pop(task)

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
        self._stopping = self._stop_unseen = False
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
        receivers, self._receivers = self._receivers, None
        if receivers:
            for task in receivers:
                wake(task, _STOP_SIGNAL)
        else:
            self._stop_unseen = True

    def _close(self) -> None:
        """Close for good: queued requests and blocked senders get :class:`ActorGone`."""
        if self._closed:
            return
        self._closed = True
        gone = ActorGone(f"actor {self.owner} is stopped")
        queue, self._queue, self._head = self._queue[self._head :], [], 0
        for msg in queue:
            if isinstance(msg, Request):
                msg.reply._abandon(gone)
        senders, self._senders = self._senders or {}, None
        for task in senders:
            fail(task, ActorGone(f"actor {self.owner} is stopped"))
        receivers, self._receivers = self._receivers or [], None
        for task in receivers:
            fail(task, trio.ClosedResourceError())
        self._stop_unseen = False
        self._end_incarnation(gone)
