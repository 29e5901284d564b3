"""The membership actor: one node's lease, its partitions and its self-fence.

A :class:`Membership` runs three tasks on its own database connections:

- the **planner** renews the lease every ``beat`` (and at once when another node NOTIFYs
  a join, leave or release, or when another node's lease is about to run out), drops
  partitions the database says it lost, then takes free or expired partitions up to the
  fair share or releases extras (:func:`.core.plan`);
- the **watchdog** fences the node when no renewal succeeded for ``ttl - margin`` seconds
  since it was sent (:class:`.core.LeaseTimes`): writes are refused from then on,
  partitions are dropped, the node's process groups are killed, then ``on_fenced`` and
  ``on_releasing`` run — the kills end before the lease can expire for the others.
  After the next successful renewal the node takes partitions again, each at a new
  epoch — only once the fence's ``on_releasing`` has ended (one lock orders what the
  engine is told, so a late release never forgets the jobs of a retake) — and, for a
  beat plus the margin, leaves alone the partitions of peers whose lease lapsed while it
  was fenced (:class:`.core.Settling`: after an outage for everyone, the first node back
  would otherwise take them and give them back a beat later);
- the **listener** waits for NOTIFYs on :data:`.sql.CHANNEL` and wakes the planner.

Database errors never escape: a failed renewal is retried at the next beat on a new
connection, and the watchdog decides when it has been too long. Cancelling :meth:`run`
hands the partitions over (``on_releasing``, then one transaction freeing them, ending the
lease and NOTIFYing), shielded and bounded by ``ttl``; a SIGKILLed node hands over by
letting its lease expire.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import psycopg
import trio

from gnomon.runtime.cluster import core, sql
from gnomon.runtime.cluster.clock import DbClock
from gnomon.runtime.cluster.links import BoundedConnection, kill_own_groups, listen_forever
from gnomon.runtime.cluster.metrics import ClusterMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
Partitions = Callable[[Mapping[int, int]], Awaitable[None]]
Released = Callable[[frozenset[int]], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


async def _nothing(*_: Any) -> None:
    return None


class Membership:
    """One node's membership (see the module docstring).

    Args:
        dsn: the PostgreSQL connection string.
        node: this node's name as listed by ``gnomon nodes`` (default: the host name).
        gateway_url: this node's gateway URL as ``gnomon nodes`` lists it, read at each renewal
            (empty until the gateway is bound: ``GatewayAddress.get``).
        partitions: the partition count (fixed per database; a mismatch fails :meth:`run`).
        times: beat, TTL, fence margin and kill grace.
        on_acquired: awaited with ``{p: epoch}`` after partitions were taken.
        on_releasing: awaited with the partitions about to be released or just lost.
        on_fenced: awaited when the node fences itself (after its groups were killed).
            A callback that raises is logged; a failed ``on_acquired`` releases what it
            was given (taken again at a later tick).
        kill_groups: whether fencing kills this process's process groups.
    """

    def __init__(
        self,
        dsn: str,
        *,
        node: str | None = None,
        gateway_url: Callable[[], str] = lambda: "",
        partitions: int = core.DEFAULT_PARTITIONS,
        times: core.LeaseTimes | None = None,
        clock: DbClock | None = None,
        metrics: ClusterMetrics | None = None,
        on_acquired: Partitions = _nothing,
        on_releasing: Released = _nothing,
        on_fenced: Hook = _nothing,
        kill_groups: bool = True,
    ) -> None:
        self.dsn = dsn
        self.node = node or socket.gethostname()
        self.gateway_url = gateway_url
        self.partitions = partitions
        self.times = times or core.LeaseTimes()
        self.clock = clock
        self.metrics = metrics
        self.boot_id = uuid.uuid4().hex
        self.on_acquired, self.on_releasing, self.on_fenced = on_acquired, on_releasing, on_fenced
        self.kill_groups = kill_groups
        self.fenced = True  # until the first renewal
        self._joined = False
        self._failing = False  # the last renewal failed (logged once per outage)
        self._held: dict[int, int] = {}
        self._trusted_until = -float("inf")
        self._trusted_mono = -float("inf")  # the same instant on time.monotonic()
        self._trust_moved = trio.Event()
        self._wake = trio.Event()
        #: Held while the engine is told of takes and releases: a fence's release (from
        #: the watchdog) and a retake after it (from the next renewal) reach it in order.
        self._moving = trio.Lock()
        self._db = BoundedConnection(dsn, self.times.margin)
        self._next_tick = self.times.beat
        #: After a fence, the peers whose lease lapsed meanwhile are spared a while.
        self._settling = core.Settling(self.times.settle)

    # -- what the store's fence and the engine read (any thread) ------------------------

    @property
    def held(self) -> Mapping[int, int]:
        """The partitions held now, ``p -> epoch`` (a copy; empty while fenced)."""
        return dict(self._held)

    def holds(self, p: int) -> bool:
        """Whether partition ``p`` is held now (cheap; any thread)."""
        return p in self._held

    def epochs(self, ps: Iterable[int]) -> dict[int, int]:
        """The epochs of ``ps``, for a fenced write.

        Raises:
            sql.Fenced: the node is fenced or does not hold one of ``ps``.
        """
        held = dict(self._held)
        wanted = sorted(set(ps))
        missing = [p for p in wanted if p not in held]
        if time.monotonic() >= self._trusted_mono:
            self.fenced = True  # the watchdog is about to say so
        if self.fenced or missing:
            why = (
                "fenced itself (its lease could not be renewed)"
                if self.fenced
                else (f"does not hold partition(s) {', '.join(map(str, missing))}")
            )
            raise sql.Fenced(f"this node {why}; the write was refused", missing)
        return {p: held[p] for p in wanted}

    # -- the actor ------------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Join, take a fair share, report started, then keep the lease until cancelled.

        Raises:
            psycopg.Error, OSError: the database could not be reached to join.
            sql.ClusterConfigError: the partition count disagrees with the database's.
        """
        self.partitions = await self._db(lambda c: sql.ensure_schema(c, self.partitions))
        sent = trio.current_time()
        await self._db(self._register)
        self._trust(sent)
        try:
            await self._tick()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watchdog)
                nursery.start_soon(
                    listen_forever, self.dsn, sql.CHANNEL, self._wake_planner, self.times.beat
                )
                task_status.started()
                await self._plan_forever()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(self.times.ttl):
                await self._leave()

    async def _plan_forever(self) -> None:
        while True:
            with trio.move_on_after(self._next_tick):
                await self._wake.wait()
            self._wake = trio.Event()
            await self._tick()

    async def _tick(self) -> None:
        """Renew, reconcile with the database, then take or release per the plan."""
        if not self.fenced and trio.current_time() >= self._trusted_until:
            await self._fence()  # woke up past the trust (frozen, starved): fence first
        wall = time.time if self.clock is None else self.clock.local
        sent, sent_wall = trio.current_time(), wall()
        try:
            snap = await self._db(
                lambda c: sql.renew(c, self.boot_id, self.times.ttl, self.gateway_url())
            )
            if snap is None:  # our row was removed as long dead: join again
                await self._db(self._register)
                return
        except (psycopg.Error, OSError, trio.TooSlowError) as exc:
            level = logging.DEBUG if self._failing else logging.WARNING
            why = core.first_line(exc)  # trio.TooSlowError says nothing: its type's name
            log.log(level, "cluster lease renewal failed (retrying every beat): %s", why)
            self._failing = True
            self._next_tick = self.times.beat
            return
        self._failing = False
        if self.metrics is not None:
            self.metrics.renew_seconds.observe(trio.current_time() - sent)
        if self.clock is not None:
            self.clock.observe(sent_wall, snap.db_time, wall())
        self._trust(sent)
        self._next_tick = self._delay(snap)
        if trio.current_time() >= self._trusted_until:
            return  # a renewal that came back too late: the watchdog fences
        back = self.fenced and self._joined
        self.fenced, self._joined = False, True
        try:
            if back:  # tell the others at once, so they give this node its share back
                self._back(snap)
                await self._db(lambda c: sql.notify(c, f"join {self.boot_id}"))
            async with self._moving:
                await self._reconcile(snap)
        except (psycopg.Error, OSError, trio.TooSlowError) as exc:
            log.warning("cluster partition planning failed: %s", core.first_line(exc))

    def _back(self, snap: sql.Snapshot) -> None:
        """The first renewal after a fence: spare the peers that lapsed meanwhile."""
        self._settling.back(snap.lapsed, trio.current_time())
        log.warning("cluster lease renewed again: taking partitions at new epochs")
        if snap.lapsed:
            log.warning(
                "cluster: %d peer(s) lost their lease while this node was fenced; their"
                " partitions are left to them for %.1fs",
                len(snap.lapsed),
                self._settling.window,
            )

    def _register(self, conn: psycopg.Connection[Any]) -> None:
        sql.register(
            conn,
            boot_id=self.boot_id,
            node=self.node,
            host=socket.gethostname(),
            pid=os.getpid(),
            url=self.gateway_url(),
            ttl=self.times.ttl,
        )

    def _delay(self, snap: sql.Snapshot) -> float:
        """Until the next tick: a beat, or just after another owner's lease runs out or
        the settling window ends (:class:`.core.Settling`), whichever comes first."""
        delay = self.times.beat
        for left in (snap.next_expiry, self._settling.left(trio.current_time())):
            if left is not None:
                delay = min(delay, left + 0.02)
        return max(0.01, delay)

    async def _reconcile(self, snap: sql.Snapshot) -> None:
        lost = core.lost(self._held, snap.held)
        if lost:
            for p in lost:
                del self._held[p]
            log.warning("cluster partitions lost to another node: %s", sorted(lost))
            await _releasing(self.on_releasing, frozenset(lost))
        stray = [p for p in snap.held if p not in self._held]
        if stray:  # taken by a transaction whose answer never came: nobody writes them
            await self._db(lambda c: sql.release(c, self.boot_id, stray))
        spared = self._settling.spare(snap.live_boots, trio.current_time())
        step = core.plan(self._held, self.partitions, snap.live + len(spared))
        if step.release:
            await self._release(step.release)
        elif step.take:
            await self._take(step.take, spared)
        self._gauge()

    async def _take(self, want: int, spared: frozenset[str] = frozenset()) -> None:
        rows = await self._db(lambda c: sql.take(c, self.boot_id, want, spared))
        if not rows or self.fenced or trio.current_time() >= self._trusted_until:
            return  # an answer from before a freeze: the next tick fences, then frees them
        got = {p: epoch for p, epoch, _ in rows}
        self._held.update(got)
        if self.metrics is not None:
            self.metrics.takeovers.inc(sum(1 for *_, prev in rows if prev is not None))
        try:
            await self.on_acquired(got)
        except Exception:  # recovery failed (the store, say): give them back, retry later
            log.exception("cluster: taking partitions %s failed; releasing them", sorted(got))
            await self._release(got)

    async def _release(self, ps: Iterable[int]) -> None:
        gone = frozenset(ps)
        await _releasing(self.on_releasing, gone)
        for p in gone:
            self._held.pop(p, None)
        await self._db(lambda c: sql.release(c, self.boot_id, gone))

    async def _leave(self) -> None:
        """Hand the partitions over; the connection is closed even when the bound on
        leaving cancels this part-way."""
        try:
            if self._held:
                async with self._moving:
                    await _releasing(self.on_releasing, frozenset(self._held))
            self._held.clear()
            self._gauge()
            await self._db(lambda c: sql.leave(c, self.boot_id))
        except (psycopg.Error, OSError, trio.TooSlowError) as exc:
            why = core.first_line(exc)
            log.warning("cluster hand-over failed (the lease will expire instead): %s", why)
        finally:
            self._db.close()

    # -- the self-fence -------------------------------------------------------------------

    def _trust(self, sent: float) -> None:
        until = self.times.trusted_until(sent)
        if until > self._trusted_until:
            self._trusted_until = until
            self._trusted_mono = time.monotonic() + (until - trio.current_time())
            self._trust_moved.set()
            self._trust_moved = trio.Event()

    async def _watchdog(self) -> None:
        while True:
            moved = self._trust_moved
            if self.fenced:
                await moved.wait()
                continue
            with trio.move_on_at(self._trusted_until):
                await moved.wait()
                continue
            await self._fence()

    async def _fence(self) -> None:
        """Stop: drop every partition, tell the daemon, kill the process groups."""
        self.fenced = True
        dropped = frozenset(self._held)
        self._held.clear()
        self._gauge()
        log.error(
            "cluster lease not renewed in time: fencing this node (%d partitions)", len(dropped)
        )
        if self.metrics is not None:
            self.metrics.self_fences.inc()
        if self.kill_groups:  # first: the kills must end before the lease can expire
            await kill_own_groups(self.times.kill_grace)
        async with self._moving:  # a retake waits until the engine let go of these
            try:
                await self.on_fenced()
            except Exception:
                log.exception("cluster: on_fenced failed")
            if dropped:
                await _releasing(self.on_releasing, dropped)

    # -- plumbing -------------------------------------------------------------------------

    def _wake_planner(self) -> None:
        self._wake.set()

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.partitions_held.set(len(self._held))


async def _releasing(on_releasing: Released, ps: frozenset[int]) -> None:
    """``on_releasing(ps)``; its failure is logged, never fatal (the fence still holds)."""
    try:
        await on_releasing(ps)
    except Exception:
        log.exception("cluster: letting go of partitions %s failed", sorted(ps))
