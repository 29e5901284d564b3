"""Cluster membership on a real PostgreSQL (docs/cluster.md): several members in one trio
run (real clock), each with its own connections. Skipped without a server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from prometheus_client import CollectorRegistry
from support.pgkit import fresh_database

psycopg = pytest.importorskip("psycopg")

from gnomon.cli.nodes_cmd import node_rows  # noqa: E402
from gnomon.runtime.cluster import sql  # noqa: E402
from gnomon.runtime.cluster.clock import DbClock  # noqa: E402
from gnomon.runtime.cluster.core import LeaseTimes, fair_share  # noqa: E402
from gnomon.runtime.cluster.fence import store_fence  # noqa: E402
from gnomon.runtime.cluster.membership import Membership  # noqa: E402
from gnomon.runtime.cluster.metrics import ClusterMetrics  # noqa: E402
from gnomon.runtime.cluster.nodes import list_members  # noqa: E402
from gnomon.runtime.model.wire import to_json  # noqa: E402

P = 16
pytestmark = pytest.mark.slow


@pytest.fixture
def db() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def owners(url: str) -> dict[int, tuple[str | None, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT p, owner_boot, epoch FROM cluster_partitions").fetchall()
    return {p: (owner, epoch) for p, owner, epoch in rows}


def member(url: str, name: str, **kw: Any) -> Membership:
    return Membership(url, node=name, partitions=P, kill_groups=False, **kw)


async def until(check: Any, limit: float = 60.0) -> float:
    """Poll ``check()`` every 20 ms; the seconds it took to hold (fails after ``limit``: a
    bound on a hang only, loose enough for a loaded CI machine)."""
    start = time.monotonic()
    with trio.fail_after(limit):
        while not await trio.to_thread.run_sync(check):  # noqa: ASYNC110 - polls the database
            await trio.sleep(0.02)
    return time.monotonic() - start


async def fresh_listing(m: Membership) -> Any:
    """``cluster.nodes`` as ``m`` lists it once every member renewed in the last half TTL
    (each renews every beat; a starved one may lag, bounded only on a hang)."""
    with trio.fail_after(60):
        while True:
            listed = await list_members(m)
            if all(n.live and 0 <= n.lease_age < n.lease_left for n in listed.nodes):
                return listed
            await trio.sleep(0.1)


async def test_three_members_split_the_partitions_and_a_graceful_stop_hands_over(
    db: str,
) -> None:
    members = [member(db, f"n{i}") for i in range(3)]
    async with trio.open_nursery() as nursery:
        scopes = []
        for m in members:
            scope = trio.CancelScope()
            scopes.append(scope)

            async def run(
                m: Membership = m, scope: trio.CancelScope = scope, *, task_status: Any
            ) -> None:
                with scope:
                    await m.run(task_status=task_status)

            await nursery.start(run)
        share = fair_share(P, 3)

        def balanced() -> bool:
            o = owners(db)
            counts = [sum(1 for owner, _ in o.values() if owner == m.boot_id) for m in members]
            return sum(counts) == P and max(counts) <= share

        def agreed() -> bool:  # what each believes is what the database says
            o = owners(db)
            return balanced() and all(
                dict(m.held) == {p: e for p, (owner, e) in o.items() if owner == m.boot_id}
                for m in members
            )

        # a member starved past its lease under load fences itself (its memory empties
        # before the database's rows do) and takes its share back: wait for agreement
        await until(agreed)
        listed = await fresh_listing(members[1])  # cluster.nodes
        assert listed.clustered
        assert listed.partitions == P
        assert sorted(n.node for n in listed.nodes) == ["n0", "n1", "n2"]
        assert [n.node for n in listed.nodes if n.this] == ["n1"]
        assert sum(n.partitions for n in listed.nodes) == P
        assert all(n.live and 0 <= n.lease_age < n.lease_left for n in listed.nodes)
        ttl = LeaseTimes().ttl
        assert all(n.lease_age + n.lease_left == pytest.approx(ttl) for n in listed.nodes)
        rows = node_rows([json.loads(to_json(n)) for n in listed.nodes])
        assert [r[0] for r in rows] == ["n0", "n1 *", "n2"]

        leaving = members[0]
        handed = set(leaving.held)
        stopped = time.monotonic()
        scopes[0].cancel()
        took = await until(
            lambda: all(
                owners(db)[p][0] in {members[1].boot_id, members[2].boot_id} for p in handed
            )
        )
        print(f"graceful hand-over of {len(handed)} partitions: {time.monotonic() - stopped:.3f}s")
        assert took < LeaseTimes().ttl  # by NOTIFY, not by the lease running out
        nursery.cancel_scope.cancel()
    assert all(owner is None for owner, _ in owners(db).values())


async def test_the_fence_refuses_a_write_at_an_old_epoch_and_counts_it(db: str) -> None:
    metrics = ClusterMetrics(CollectorRegistry())
    a = member(db, "a", metrics=metrics)
    async with trio.open_nursery() as nursery:
        await nursery.start(a.run)
        fence = store_fence(a, lambda unit: unit)
        p = min(a.held)
        epoch = a.held[p]

        def write(ps: set[int]) -> None:
            with psycopg.connect(db) as conn, conn.transaction():
                fence(conn, ps)

        await trio.to_thread.run_sync(write, {p})  # held: passes
        with psycopg.connect(db, autocommit=True) as conn:  # someone took it meanwhile
            conn.execute("UPDATE cluster_partitions SET epoch = epoch + 1 WHERE p = %s", (p,))
        with pytest.raises(sql.Fenced, match=f"partition\\(s\\) {p} at the epoch"):
            await trio.to_thread.run_sync(write, {p})
        assert metrics.fenced_writes._value.get() == 1
        # the next renewal drops it and takes it again, at a new epoch
        await until(lambda: a.held.get(p, 0) > epoch + 1)
        await trio.to_thread.run_sync(write, {p})
        nursery.cancel_scope.cancel()


async def test_a_node_30s_fast_reads_the_database_clock_from_its_renewals(db: str) -> None:
    clock = DbClock(wall=lambda: time.time() + 30)
    async with trio.open_nursery() as nursery:
        await nursery.start(member(db, "fast", clock=clock).run)
        with psycopg.connect(db) as conn:
            row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        assert row is not None
        assert abs(clock.now().timestamp() - row[0]) < 0.5
        nursery.cancel_scope.cancel()


async def test_a_retake_after_a_fence_reaches_the_engine_after_the_fences_release(
    db: str,
) -> None:
    """The watchdog fences while renewals block (a row lock holds the lease's row); the
    fence's ``on_fenced`` is slow, so the renewal that works again retakes partitions
    before the fence has let go of them. The engine must be told ``releasing`` first and
    ``acquired`` after, so what it holds is what the database says it holds (before the
    lock, the late release forgot the retaken jobs: they never fired again)."""
    engine: set[int] = set()

    async def acquired(epochs: Any) -> None:
        engine.update(epochs)

    async def releasing(ps: frozenset[int]) -> None:
        engine.difference_update(ps)

    fence_done = trio.Event()

    async def slow_fence() -> None:
        await trio.sleep(2 * LeaseTimes().beat)
        fence_done.set()

    a = member(db, "a", on_acquired=acquired, on_releasing=releasing, on_fenced=slow_fence)
    async with trio.open_nursery() as nursery:
        await nursery.start(a.run)
        assert engine == set(a.held) == set(range(P))
        blocker = await trio.to_thread.run_sync(lambda: psycopg.connect(db))
        try:
            await trio.to_thread.run_sync(
                lambda: blocker.execute(
                    "SELECT 1 FROM cluster_nodes WHERE boot_id = %s FOR UPDATE", (a.boot_id,)
                )
            )
            await until(lambda: a.fenced, limit=30)
        finally:
            await trio.to_thread.run_sync(blocker.rollback)  # renewals work again
            blocker.close()
        await until(lambda: not a.fenced and len(a.held) == P, limit=30)
        await fence_done.wait()  # its release follows at once (or, with the lock, first)
        await trio.sleep(0.5)

        def settled() -> bool:  # without the lock the engine stays empty for good
            held = {p for p, (o, _) in owners(db).items() if o == a.boot_id}
            return engine == set(a.held) == held == set(range(P))

        await until(settled, limit=30)
        nursery.cancel_scope.cancel()
