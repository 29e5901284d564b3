"""The event bus: committed events fanned out to subscribers, never blocking the store.

The store calls :meth:`EventBus.publish` after each commit. Listeners (the metrics) are
called synchronously; subscribers (gateway sessions, ``wait``, the dashboard) each have a
bounded queue. A subscriber that falls behind loses its live feed and receives exactly one
:class:`Lagged` marker after what was queued; it re-subscribes with
``since_seq=marker.resume_from`` and misses nothing.

``subscribe(since_seq=N)`` replays committed history after ``N`` from the store, then
continues live, with no gap and no duplicate: the live queue is registered *before*
history is read, and events are de-duplicated on ``seq``.

:meth:`EventBus.notify` delivers a *non-durable* event to live subscribers (not to
the listeners: metrics count what the log holds) without a commit: an unchanged wait
poll (``job.wait_tick`` whose payload says ``"ephemeral": true``). It carries the
``seq`` of the last committed event, is never replayed, and is not de-duplicated (see
docs/protocol.md, "Ephemeral events").
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import attrs
import trio

from gnomon.runtime.model.events import Event, EventDraft, event_of
from gnomon.runtime.store import EventQuery

log = logging.getLogger("gnomon.events")
History = Callable[[EventQuery], Awaitable[list[Event]]]
PAGE = 500
#: Events queued for one subscriber before it lags. The queue holds references to the
#: events every subscriber shares, so a deep one is cheap (8 bytes an event), and one
#: storm's burst must fit in it: a chunk of fires publishes ~512 events in one commit,
#: and a subscriber that lags re-reads the store from its last seq, far dearer than any
#: queue (docs/performance.md, "WebSocket subscribers during a storm").
SUBSCRIBER_QUEUE = 8192


@attrs.frozen
class Lagged:
    """The subscriber fell behind; resume with ``since_seq=resume_from`` (the last ``seq``
    it received)."""

    resume_from: int


@attrs.frozen(kw_only=True)
class EventFilter:
    """Which events a subscriber wants (empty fields match everything)."""

    types: tuple[str, ...] = ()
    job_id: str | None = None

    def matches(self, event: Event) -> bool:
        if self.job_id is not None and event.job_id != self.job_id:
            return False
        return not self.types or any(fnmatch.fnmatchcase(event.type, t) for t in self.types)

    def query(self, since_seq: int) -> EventQuery:
        return EventQuery(since_seq=since_seq, limit=PAGE, job_id=self.job_id, types=self.types)


def is_ephemeral(event: Event) -> bool:
    """A non-durable event (:meth:`EventBus.notify`): no row, no hash."""
    return bool(event.payload.get("ephemeral")) and not event.hash


class _Subscriber:
    def __init__(self, filter: EventFilter, capacity: int) -> None:
        self.filter = filter
        self.send, self.recv = trio.open_memory_channel[Event](capacity)
        self.dropped_after: int | None = None


class EventBus:
    """See the module docstring.

    Args:
        history: reads committed events (the store's ``events``), for ``since_seq``.
        listeners: called synchronously with every published event, in order (keep them
            cheap; one that raises is logged and the others still hear the event).
        capacity: each subscriber's queue bound, in events.
    """

    def __init__(
        self,
        history: History,
        *,
        listeners: Sequence[Callable[[Event], None]] = (),
        capacity: int = SUBSCRIBER_QUEUE,
    ) -> None:
        self._history = history
        self._capacity = capacity
        self._subscribers: set[_Subscriber] = set()
        self._listeners = tuple(listeners)
        self.published = 0
        self.notified = 0
        self.lagged = 0
        self._last_seq = 0

    def publish(self, events: Sequence[Event]) -> None:
        """Deliver committed events; never blocks (a full subscriber is lagged)."""
        for event in events:
            self.published += 1
            self._last_seq = event.seq
            for listener in self._listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("event listener failed on %s", event.type)
            for sub in list(self._subscribers):
                if sub.filter.matches(event):
                    self._offer(sub, event)

    def notify(self, make: Callable[[], EventDraft]) -> None:
        """Deliver the non-durable event ``make()`` now (see the module docstring);
        ``make`` is called only when someone subscribes. Never blocks."""
        self.notified += 1
        if not self._subscribers:
            return
        event = event_of(make(), self._last_seq)
        for sub in list(self._subscribers):
            if sub.filter.matches(event):
                self._offer(sub, event)

    def _offer(self, sub: _Subscriber, event: Event) -> None:
        try:
            sub.send.send_nowait(event)
        except trio.WouldBlock:
            sub.dropped_after = event.seq
            self.lagged += 1
            self._subscribers.discard(sub)
            sub.send.close()
        except trio.BrokenResourceError:
            self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, filter: EventFilter | None = None, *, since_seq: int | None = None
    ) -> AsyncIterator[Subscription]:
        """An async iterator of events (and at most one final :class:`Lagged`).

        Cancellation: leaving the ``async with`` ends the subscription.
        """
        sub = _Subscriber(filter or EventFilter(), self._capacity)
        self._subscribers.add(sub)
        try:
            yield Subscription(sub, since_seq, self._history)
        finally:
            self._subscribers.discard(sub)
            sub.send.close()
            sub.recv.close()


class Subscription:
    """History after ``since_seq`` (from the store), then the live queue, deduplicated on
    ``seq``; a final :class:`Lagged` when the bus dropped this subscriber."""

    def __init__(self, sub: _Subscriber, since_seq: int | None, history: History) -> None:
        self._sub = sub
        self._history = history
        self._last = since_seq
        self._replaying = since_seq is not None
        self._page: list[Event] = []
        self._done = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event | Lagged:
        if self._done:
            raise StopAsyncIteration
        if self._page:
            return self._emit(self._page.pop(0))
        if self._replaying:
            page = await self._history(self._sub.filter.query(self._last or 0))
            self._replaying = len(page) == PAGE
            if page:
                self._page = page
                return self._emit(self._page.pop(0))
        while True:
            try:
                event = await self._sub.recv.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return self._end()
            accepted = self._accept(event)
            if accepted is not None:
                return accepted

    def ready(self, most: int) -> list[Event | Lagged]:
        """Up to ``most`` more items that are here already — the rest of a replayed page,
        then the live queue — without waiting (and without reading the store: a page
        still to be read comes with the next ``__anext__``). Ends with the
        :class:`Lagged` marker if the subscription ended by lagging."""
        out: list[Event | Lagged] = []
        while self._page and len(out) < most:
            out.append(self._emit(self._page.pop(0)))
        while len(out) < most and not self._done and not self._replaying and not self._page:
            try:
                event = self._sub.recv.receive_nowait()
            except trio.WouldBlock:
                break
            except (trio.EndOfChannel, trio.ClosedResourceError):
                with contextlib.suppress(StopAsyncIteration):
                    out.append(self._end())
                break
            accepted = self._accept(event)
            if accepted is not None:
                out.append(accepted)
        return out

    def _accept(self, event: Event) -> Event | None:
        """``event`` if it is news (a live event not yet seen, or an ephemeral one)."""
        if is_ephemeral(event):
            return event  # not durable: neither replayed nor de-duplicated
        if self._last is None or event.seq > self._last:
            return self._emit(event)
        return None

    def _end(self) -> Lagged:
        """The queue closed: the :class:`Lagged` marker if the bus dropped us, else the end
        (StopAsyncIteration)."""
        self._done = True
        dropped = self._sub.dropped_after
        if dropped is None:
            raise StopAsyncIteration
        return Lagged(resume_from=self._last if self._last is not None else dropped - 1)

    def _emit(self, event: Event) -> Event:
        self._last = event.seq
        return event
