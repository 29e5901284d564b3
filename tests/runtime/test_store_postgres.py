"""The PostgreSQL store's own guarantees: one chain sealed in the database, seq gap-free
and in commit order with several writers on one database, a crash inside a transaction
leaving nothing, the exclusive lock, the fence, an unreachable server.

Each test gets a fresh database (``support/pgkit.py``) and is skipped with the reason
where no PostgreSQL server answers. Real worker threads (the daemon's executor), real
processes for the crash.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import trio
from support.pgkit import fresh_database
from support.storekit import T0, draft, later, running_store, state

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.events import verify_chain
from gnomon.runtime.store import Changes, EventQuery, FireAlreadyClaimed, UnitRejected
from gnomon.runtime.store.pg import PgStore
from gnomon.runtime.store.pg_conn import Slots

KEY = b"k" * 32
TESTS = str(Path(__file__).resolve().parents[1])


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database's URL (skips when no server answers)."""
    with fresh_database() as url:
        yield url


async def test_the_chain_is_sealed_in_the_database_and_verifies(
    nursery: trio.Nursery, pg_url: str
) -> None:
    """Events of many transactions get seq 1…N; the chain head row follows the last; the
    audit check passes and names an edited event."""
    store = await running_store(nursery, pg_url, inline=False, audit_key=KEY)
    for i in range(5):
        await store.commit(Changes(events=tuple(draft(f"j{i}", f"e{i}.{k}") for k in range(3))))
    stored = await store.events(EventQuery(limit=100))
    assert [e.seq for e in stored] == list(range(1, 16))
    assert verify_chain(stored).ok
    assert (await store.verify_audit()).ok
    with psycopg.connect(pg_url, autocommit=True) as conn:
        head = conn.execute("SELECT seq, hash FROM chain_head").fetchone()
        assert head == (15, stored[-1].hash)
        conn.execute("UPDATE events SET event = replace(event, 'e2.1', 'E2.1') WHERE seq = 8")
    report = await store.verify_audit()
    assert not report.ok
    assert report.first_bad_seq == 8
    assert "hash mismatch" in report.problem


async def test_seq_is_gap_free_and_in_commit_order_with_two_writers(
    nursery: trio.Nursery, pg_url: str
) -> None:
    """Two stores writing one database at once (non-exclusive): every event has its own
    seq, 1…N without a gap, one chain across both, and each writer's events in the order
    it committed them."""
    a = await running_store(nursery, pg_url, inline=False, audit_key=KEY, exclusive=False)
    b = await running_store(nursery, pg_url, inline=False, audit_key=KEY, exclusive=False)
    got: dict[str, list[int]] = defaultdict(list)

    async def writer(name: str, store: Any) -> None:
        for i in range(40):
            unit = Changes(
                jobs=(state(f"{name}{i}"),),
                claims=((f"{name}{i}", T0),),
                events=(draft(f"{name}{i}", f"{name}{i}.1"), draft(f"{name}{i}", f"{name}{i}.2")),
            )
            got[name] += [e.seq for e in await store.commit(unit)]

    async with trio.open_nursery() as writers:
        for name, store in (("a", a), ("b", b)):
            for lane in range(4):  # concurrent committers per store: group commits
                writers.start_soon(writer, f"{name}{lane}-", store)
    seqs = sorted(s for v in got.values() for s in v)  # each lane commits in order:
    assert seqs == list(range(1, 2 * 4 * 40 * 2 + 1))
    for v in got.values():
        assert v == sorted(v)
    stored = await a.events(EventQuery(limit=10_000))
    assert [e.seq for e in stored] == seqs
    assert verify_chain(stored).ok
    assert (await b.verify_audit()).ok


CRASHER = """
import sys, trio
sys.path.insert(0, {tests!r})
from support.storekit import draft, running_store, state
from gnomon.runtime.store import Changes

async def main():
    async with trio.open_nursery() as n:
        store = await running_store(n, {url!r}, inline=False, audit_key=b"k" * 32)
        await store.commit(Changes(events=(draft("before"),)))
        await store.commit(Changes(jobs=(state("lost"),), events=(draft("lost"),)))
        raise SystemExit("the crash point did not fire")

trio.run(main)
"""


async def test_a_crash_inside_the_transaction_leaves_nothing(
    nursery: trio.Nursery, pg_url: str
) -> None:
    """A process SIGKILLed inside a group commit (``mid_group_commit@2``): nothing of the
    batch is in the database, the head did not move, and the next writer continues the
    chain without a gap."""
    env = {**os.environ, "GNOMON_CRASH_AT": "mid_group_commit@2"}
    proc = await trio.run_process(
        [sys.executable, "-c", CRASHER.format(tests=TESTS, url=pg_url)],
        env=env,
        check=False,
        capture_stderr=True,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    store = await running_store(nursery, pg_url, inline=False, audit_key=KEY)
    assert await store.get_job("lost") is None
    assert await store.last_seq() == 1
    events = await store.commit(Changes(events=(draft("after"),)))
    assert [e.seq for e in events] == [2]
    assert (await store.verify_audit()).ok


async def test_a_fence_refuses_one_unit_alone(nursery: trio.Nursery, pg_url: str) -> None:
    """The fence runs in the commit's transaction before each unit; the unit it refuses
    writes nothing (not even its claims), the others of the batch commit gap-free."""
    seen: list[str] = []

    def fence(conn: psycopg.Connection[Any], unit: Changes) -> None:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        ids = [j.id for j in unit.jobs]
        seen.extend(ids)
        if "fenced" in ids:
            raise UnitRejected("job fenced is owned by another node")

    store = await running_store(nursery, pg_url, inline=False, fence=fence)
    results: dict[str, object] = {}

    async def commit(name: str) -> None:
        unit = Changes(jobs=(state(name),), claims=((name, T0),), events=(draft(name),))
        try:
            results[name] = [e.seq for e in await store.commit(unit)]
        except UnitRejected as exc:
            results[name] = exc

    async with trio.open_nursery() as n:
        for name in ("ok1", "fenced", "ok2"):
            n.start_soon(commit, name)
    assert isinstance(results["fenced"], UnitRejected)
    assert sorted(s for k in ("ok1", "ok2") for s in results[k]) == [1, 2]  # type: ignore[attr-defined]
    assert await store.get_job("fenced") is None
    assert not await store.fire_claimed("fenced", T0)
    assert sorted(seen) == ["fenced", "ok1", "ok2"]


async def test_claims_refused_within_and_across_batches(nursery: trio.Nursery, pg_url: str) -> None:
    """The bulk claim: a slot taken before, or by an earlier unit of the same batch,
    refuses only the later unit; a refused unit leaves none of its other claims."""
    store = await running_store(nursery, pg_url, inline=False)
    await store.commit(Changes(claims=(("j", T0),)))
    results: list[object] = []

    async def commit(unit: Changes) -> None:
        try:
            results.append(await store.commit(unit))
        except FireAlreadyClaimed as exc:
            results.append(exc)

    async with trio.open_nursery() as n:
        n.start_soon(commit, Changes(claims=(("j", later(1)), ("j", T0))))  # T0 taken
        n.start_soon(commit, Changes(claims=(("k", T0),)))
        n.start_soon(commit, Changes(claims=(("k", T0),)))  # taken by the unit before
    assert sum(isinstance(r, FireAlreadyClaimed) for r in results) == 2
    assert not await store.fire_claimed("j", later(1))
    assert await store.fire_claimed("k", T0)
    assert await store.count("fires") == 2


def test_a_second_exclusive_store_is_refused_naming_the_url(pg_url: str) -> None:
    """One daemon per database: the second is refused (``database in use``) with the URL
    and the holder; once the first closes, the database is free again."""
    first = PgStore(pg_url)
    try:
        with pytest.raises(StoreUnavailable, match="database in use") as refused:
            PgStore(pg_url.replace("postgres@", "postgres:secret@"))
        assert pg_url in refused.value.message
        assert "secret" not in refused.value.message
        assert f"pid {os.getpid()}" in refused.value.message
    finally:
        first.close()
    PgStore(pg_url).close()


async def test_lost_connections_are_a_store_fault_that_heals(
    nursery: trio.Nursery, pg_url: str
) -> None:
    """Every connection of the store terminated by the server (a restart, an operator):
    the next commit either finds them gone and reconnects, or meets ``database
    unreachable`` (a recorded, recoverable fault) and the writer's probe reconnects within
    seconds; the exclusive lock is taken again, and commits continue the chain."""
    store = await running_store(nursery, pg_url, inline=False, audit_key=KEY)
    await store.commit(Changes(events=(draft("j", "before"),)))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    try:  # replaced before use when the server's goodbye arrived first, else a fault
        outcome = str(await store.commit(Changes(events=(draft("j", "maybe"),))))
    except StoreUnavailable as exc:
        outcome = exc.message
    assert outcome.startswith(("(Event(", "database unreachable: "))
    with trio.fail_after(20):  # liveness bound: the probe runs every second
        await store.wait_writable()
    events = await store.commit(Changes(events=(draft("j", "after"),)))
    assert verify_chain(await store.events(EventQuery())).ok
    assert events[0].seq == await store.last_seq()
    with pytest.raises(StoreUnavailable, match="database in use"):
        PgStore(pg_url)


def test_an_unreachable_server_is_a_clear_store_error() -> None:
    """Nothing listens: ``database unreachable`` naming the URL (exit 5 at the CLI)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://postgres:pw@127.0.0.1:{port}/nothing"
    with pytest.raises(StoreUnavailable, match="database unreachable") as refused:
        PgStore(url)
    assert refused.value.exit_code == 5
    assert f"postgresql://postgres@127.0.0.1:{port}/nothing" in refused.value.message


async def test_a_connection_in_use_when_the_slots_close_is_closed_as_its_call_returns(
    pg_url: str,
) -> None:
    """``close()`` while a call runs (a store closed as its nursery is cancelled, with a
    commit in flight): that call's connection is closed when it returns, not put back open
    on the closed free list (a ResourceWarning at a later garbage collection)."""
    slots = Slots(pg_url, 2, inline=False)
    release, taken = threading.Event(), list[Any]()

    def held(conn: Any) -> int:
        taken.append(conn)
        release.wait(60)
        return 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slots.run, held)
        while not taken:  # noqa: ASYNC110 - the worker thread has no trio event to set
            await trio.sleep(0.01)
        slots.close()
        release.set()
    assert taken[0].closed
    again: Any = await slots.run(lambda c: c)  # usable after close: a new connection
    assert again is not taken[0]
    assert not again.closed
    slots.close()
    assert again.closed
