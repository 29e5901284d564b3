"""``Store.commit_many``: independent units in one transaction, each with its own result.

The tests taking ``db`` (``conftest.py``) run against both stores (SQLite and a fresh
PostgreSQL database, skipped with the reason where no server answers); the fence test is
PostgreSQL's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import trio
from support.pgkit import fresh_database
from support.storekit import T0, draft, later, running_store, state

from gnomon.runtime.model.events import Event, verify_chain
from gnomon.runtime.store import Changes, EventQuery, FireAlreadyClaimed, UnitRejected


def fire_unit(name: str, slot_s: float = 0.0) -> Changes:
    slot = later(slot_s)
    return Changes(jobs=(state(name),), claims=((name, slot),), events=(draft(name, name),))


async def test_units_commit_in_one_transaction_and_a_taken_claim_fails_alone(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """A unit whose claim exists is refused with FireAlreadyClaimed and writes nothing;
    the units around it commit in the same single transaction, gap-free, published."""
    published: list[Event] = []
    store = await running_store(nursery, db, publish=published.extend)
    await store.commit(Changes(claims=(("b", T0),), events=(draft("b", "earlier"),)))
    before = store.transactions
    results = await store.commit_many([fire_unit("a"), fire_unit("b"), Changes(), fire_unit("c")])
    assert store.transactions - before == 1
    assert isinstance(results[1], FireAlreadyClaimed)
    assert results[2] == ()
    assert [[e.message for e in r] for r in (results[0], results[3])] == [["a"], ["c"]]  # type: ignore[union-attr]
    assert await store.get_job("b") is None
    assert await store.get_job("a") == state("a")
    assert await store.get_job("c") == state("c")
    assert [e.message for e in published] == ["earlier", "a", "c"]
    stored = await store.events(EventQuery())
    assert [e.seq for e in stored] == [1, 2, 3]
    assert verify_chain(stored).ok


async def test_a_slot_claimed_twice_in_one_call_refuses_the_later_unit(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Two units of one call claiming the same slot: the first wins, the second writes
    none of its rows (not even its other claims)."""
    store = await running_store(nursery, db)
    second = Changes(
        jobs=(state("x"),),
        claims=(("x", later(60)), ("a", T0)),
        events=(draft("x", "second"),),
    )
    results = await store.commit_many([fire_unit("a"), second], urgent=True)
    assert not isinstance(results[0], Exception)
    assert isinstance(results[1], FireAlreadyClaimed)
    assert not await store.fire_claimed("x", later(60))
    assert await store.get_job("x") is None


async def test_many_calls_and_single_commits_interleave(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Concurrent commit_many calls (both lanes) and single commits each get their own
    results; every committed event has one seq and the chain verifies."""
    store = await running_store(nursery, db)
    got: dict[str, list[Any]] = {}

    async def many(tag: str, urgent: bool) -> None:
        units = [fire_unit(f"{tag}{i}", i) for i in range(20)]
        got[tag] = await store.commit_many(units, urgent=urgent)

    async def single(i: int) -> None:
        got[f"s{i}"] = [await store.commit(fire_unit(f"s{i}"))]

    async with trio.open_nursery() as n:
        n.start_soon(many, "m", False)
        n.start_soon(many, "u", True)
        for i in range(5):
            n.start_soon(single, i)
    assert all(len(r) == 20 for k, r in got.items() if k in "mu")
    seqs = sorted(e.seq for results in got.values() for r in results for e in r)
    assert seqs == list(range(1, 46))
    assert verify_chain(await store.events(EventQuery(limit=100))).ok


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database's URL (skips when no server answers)."""
    with fresh_database() as url:
        yield url


async def test_postgres_fence_refuses_one_unit_of_a_call(
    nursery: trio.Nursery, pg_url: str
) -> None:
    """On PostgreSQL the fence runs per unit: the unit it refuses fails alone with
    UnitRejected, the others of the same call commit."""

    def fence(conn: psycopg.Connection[Any], unit: Changes) -> None:
        if any(j.id == "fenced" for j in unit.jobs):
            raise UnitRejected("job fenced is owned by another node")

    store = await running_store(nursery, pg_url, inline=False, fence=fence)
    results = await store.commit_many([fire_unit("ok1"), fire_unit("fenced"), fire_unit("ok2")])
    assert isinstance(results[1], UnitRejected)
    assert [e.seq for e in results[0]] == [1]
    assert [e.seq for e in results[2]] == [2]
    assert await store.get_job("fenced") is None
    assert not await store.fire_claimed("fenced", T0)
