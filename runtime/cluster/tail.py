"""The event tail: every node's bus carries every node's durable events, in ``seq`` order.

In a cluster the store's writer no longer publishes to the bus itself (a node's own
commit must not reach its bus before an earlier-``seq`` commit of another node). An
:class:`EventTail` does, from the shared ``events`` table, through the pure
:class:`~.tail_core.Cursor`:

- the **follower** reads ``events WHERE seq > cursor ORDER BY seq`` in pages of
  :data:`PAGE` on a connection of its own (a worker thread) and publishes what continues
  the cursor's run; it reads when woken and at least every ``catch_up`` seconds, since a
  NOTIFY can be lost (a dropped listening connection, a node that wrote while this one
  reconnected);
- the **listener** waits for ``NOTIFY gnomon_events`` (sent by every commit on a shared
  database, payload the new head's ``seq``) on another connection, natively with
  ``trio.lowlevel.wait_readable``, and wakes the follower when the head is past the
  cursor; after each (re)connect it wakes it too;
- :meth:`EventTail.committed` is the store's publisher: it hands this node's own events
  to ``observe_own`` (the node's metrics count its own work), publishes them at once when
  they continue the run, and otherwise wakes the follower.

Ephemeral events (``EventBus.notify``) never pass here: they stay on their node's bus.
Database errors never escape: the tail logs the outage once and reads again at the next
catch-up on a new connection. Cancellation: leaving the actor abandons a read in flight
(its thread closes the connection); the cursor survives a restart of the actor, so the
next incarnation resumes where the last one stopped.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
import trio

from gnomon.runtime.cluster.core import first_line
from gnomon.runtime.cluster.handoff import open_connection
from gnomon.runtime.cluster.links import BoundedConnection
from gnomon.runtime.cluster.tail_core import Cursor
from gnomon.runtime.cluster.tail_metrics import TailMetrics
from gnomon.runtime.model.events import Event
from gnomon.runtime.store import EventQuery, pg_sql
from gnomon.runtime.store.pg_write import EVENTS_CHANNEL
from gnomon.runtime.supervisor import ChildSpec

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Events read per query.
PAGE = 500
#: Seconds between catch-up reads (a lost NOTIFY costs at most this much delay).
CATCH_UP = 0.25
#: Seconds before a dropped listening connection is made again.
RECONNECT = 1.0
#: NOTIFYs remembered for the delay metric (older ones are dropped unmeasured).
PENDING_NOTIFIES = 10_000
Publish = Callable[[Sequence[Event]], None]


class EventTail:
    """One node's event tail (see the module docstring).

    Args:
        dsn: the cluster database.
        start: the committed head when the tail first starts (``store.last_seq``); events
            up to it are history (``since_seq`` replays them), not live.
        publish: the bus (``EventBus.publish``).
        observe_own: called with each event this node committed (its metrics).
        catch_up: seconds between catch-up reads.
        gap_grace: seconds a leading gap (pruned events) is waited for before skipping.
        metrics: where the tail reports (``None``: nowhere).
    """

    def __init__(
        self,
        dsn: str,
        *,
        start: Callable[[], Awaitable[int]],
        publish: Publish,
        observe_own: Callable[[Event], None] | None = None,
        catch_up: float = CATCH_UP,
        gap_grace: float = 1.0,
        metrics: TailMetrics | None = None,
    ) -> None:
        self.dsn = dsn
        self._start = start
        self._publish = publish
        self._observe_own = observe_own
        self.catch_up = catch_up
        self._gap_grace = gap_grace
        self.cursor: Cursor[Event] | None = None
        self.reads = 0  # queries run (tests, diagnostics)
        self._wake = trio.Event()
        self._known = 0  # the highest seq known committed (NOTIFYs, own commits)
        self._must_read = False  # a wake that reads whatever it knows (a reconnect)
        #: the follower's connection (reads in a worker thread; no time bound)
        self._db = BoundedConnection(dsn, math.inf)
        self._failing = False
        self.metrics = metrics
        self._notified: deque[tuple[int, float]] = deque(maxlen=PENDING_NOTIFIES)

    def spec(self) -> ChildSpec:
        """The tail's child spec (kind and id ``events-tail``), after the store's writer."""
        return ChildSpec(id="events-tail", kind="events-tail", start=self.run, shutdown=2.0)

    def committed(self, events: Sequence[Event]) -> None:
        """The store's publisher: this node's events just committed (never blocks)."""
        if self._observe_own is not None:
            for event in events:
                try:
                    self._observe_own(event)
                except Exception:
                    log.exception("event observer failed on %s", event.type)
        cursor = self.cursor
        if cursor is not None and events:
            mine = cursor.own(events)
            if mine:
                self._deliver(mine)
            if not cursor.behind(events[-1].seq):
                return  # published now, or already read from the table
        if events:
            self._known = max(self._known, events[-1].seq)
        self._wake.set()

    def _deliver(self, events: Sequence[Event]) -> None:
        """Publish ``events`` (the cursor's next ones) and report the delay since the
        NOTIFYs they answer arrived."""
        self._publish(events)
        if self.metrics is None:
            return
        last = events[-1].seq
        self.metrics.published_seq.set(last)
        now = trio.current_time()
        while self._notified and self._notified[0][0] <= last:
            self.metrics.delay.observe(now - self._notified.popleft()[1])

    async def run(self, ctx: Any) -> None:
        """The actor (:meth:`spec`): :meth:`serve` until the supervisor stops it."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.serve)
            ctx.ready()
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Start the cursor at the committed head (the first time only), report started,
        then listen and follow until cancelled.

        Raises:
            StoreUnavailable: the head could not be read at the first start.
        """
        if self.cursor is None:
            self.cursor = Cursor(await self._start(), gap_grace=self._gap_grace)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._listen)
                nursery.start_soon(self._follow)
                task_status.started()
        finally:
            self._db.close()

    async def _follow(self) -> None:
        cursor = self.cursor
        assert cursor is not None
        while True:
            with trio.move_on_after(self.catch_up) as timer:
                await self._wake.wait()
            self._wake = trio.Event()  # a wake during the read below reads again at once
            if timer.cancelled_caught or self._must_read or cursor.behind(self._known):
                self._must_read = False
                await self._catch_up()
            # else: what woke it was published meanwhile (this node's own commit)

    async def _catch_up(self) -> None:
        """Read and publish pages until the table has nothing more after the cursor."""
        cursor = self.cursor
        assert cursor is not None
        try:
            while True:
                query = EventQuery(since_seq=cursor.published, limit=PAGE)
                rows = await self._db(functools.partial(pg_sql.events, query=query))
                self.reads += 1
                if self.metrics is not None:
                    self.metrics.reads.inc()
                skipped = cursor.skipped
                out = cursor.read(rows, trio.current_time())
                if cursor.skipped > skipped:
                    if self.metrics is not None:
                        self.metrics.skipped.inc(cursor.skipped - skipped)
                    log.warning(
                        "event tail: %d event(s) before seq %d are gone (pruned); skipped",
                        cursor.skipped - skipped,
                        out[0].seq,
                    )
                if out:
                    self._deliver(out)
                if len(rows) < PAGE or not out:
                    break
        except (psycopg.Error, OSError) as exc:
            level = logging.DEBUG if self._failing else logging.WARNING
            why = first_line(exc)
            log.log(level, "event tail: reading events failed (retrying): %s", why)
            self._failing = True
            return
        if self._failing:
            log.warning("event tail: reading events again from seq %d", cursor.published)
        self._failing = False

    async def _listen(self) -> None:
        """Wake the follower on each NOTIFY past the cursor, and after each (re)connect."""
        while True:
            try:
                conn = await open_connection(self.dsn)
            except (psycopg.Error, OSError):
                await trio.sleep(RECONNECT)
                continue
            try:
                await trio.to_thread.run_sync(conn.execute, f"LISTEN {EVENTS_CHANNEL}")
                self._must_read = True  # whatever was notified while not listening
                self._wake.set()
                await self._notifications(conn)
            except (psycopg.Error, OSError) as exc:
                log.info("event tail listener reconnecting: %s", first_line(exc))
            finally:
                conn.close()
            await trio.sleep(RECONNECT)

    async def _notifications(self, conn: psycopg.Connection[Any]) -> None:
        cursor = self.cursor
        assert cursor is not None
        while True:
            await trio.lowlevel.wait_readable(conn.fileno())
            conn.pgconn.consume_input()
            if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
                return
            head = 0
            while (note := conn.pgconn.notifies()) is not None:
                payload = note.extra.decode(errors="replace")
                head = max(head, int(payload) if payload.isdigit() else 0)
            if cursor.behind(head):
                self._known = max(self._known, head)
                self._notified.append((head, trio.current_time()))
                self._wake.set()
