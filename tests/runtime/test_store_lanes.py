"""The store's writer: the urgent lane, claims without savepoints, stop and crash."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio
import trio.testing
from support.storekit import T0, draft, later, running_store

from gnomon.runtime import Supervisor
from gnomon.runtime.errors import ActorCrashed, ShuttingDown
from gnomon.runtime.model.events import Event, verify_chain
from gnomon.runtime.store import Changes, EventQuery, FireAlreadyClaimed
from gnomon.runtime.store.sqlite import URGENT_ORDINARY, SqliteStore


class Gate:
    """A crash point that holds the writer's transactions in its worker thread while shut,
    so that units pile up behind it."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._held = threading.Event()

    def __call__(self, point: str) -> None:
        if point == "mid_group_commit" and not self._open.is_set():
            self._held.set()
            self._open.wait(10)

    def shut(self) -> None:
        self._held.clear()
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def wait_held(self) -> None:
        assert await trio.to_thread.run_sync(self._held.wait, 10)


def unit(tag: str, *claims: float) -> Changes:
    return Changes(claims=tuple(("j", later(c)) for c in claims), events=(draft("j", tag),))


class Results:
    """What each tagged commit returned or raised."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.got: dict[str, tuple[Event, ...] | Exception] = {}

    async def commit(self, tag: str, changes: Changes, urgent: bool = False) -> None:
        try:
            self.got[tag] = await self.store.commit(changes, urgent=urgent)
        except (FireAlreadyClaimed, ActorCrashed, ShuttingDown) as exc:
            self.got[tag] = exc

    def messages(self, tag: str) -> list[str]:
        events = self.got[tag]
        assert isinstance(events, tuple), events
        return [e.message for e in events]


async def gated_store(
    nursery: trio.Nursery, tmp_path: Path, gate: Gate, batches: list[Sequence[Event]]
) -> SqliteStore:
    """A store on a worker thread whose transactions ``gate`` can hold; the events of each
    commit are appended to ``batches``."""
    return await running_store(
        nursery, tmp_path / "t.db", inline=False, crash_point=gate, publish=batches.append
    )


async def hold_writer(nursery: trio.Nursery, results: Results, gate: Gate) -> None:
    """Shut ``gate`` and commit a ``blocker`` unit in ``nursery``; returns once the writer
    is held inside that transaction, so that later units queue behind it."""
    gate.shut()
    nursery.start_soon(results.commit, "blocker", unit("blocker"))
    await gate.wait_held()


def flat(batches: Sequence[Sequence[Event]]) -> list[str]:
    return [e.message for batch in batches for e in batch]


def test_urgent_units_overtake_queued_ordinary_ones(tmp_path: Path) -> None:
    """With the writer busy and hundreds of ordinary units queued (the mailbox full,
    senders parked), an urgent unit enters the very next transaction, with only
    URGENT_ORDINARY ordinary ones."""
    gate, batches = Gate(), list[Sequence[Event]]()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            store = await gated_store(nursery, tmp_path, gate, batches)
            results = Results(store)
            async with trio.open_nursery() as n:
                await hold_writer(n, results, gate)
                for i in range(400):
                    n.start_soon(results.commit, f"o{i}", unit(f"o{i}"))
                await trio.testing.wait_all_tasks_blocked()
                n.start_soon(results.commit, "u", unit("u"), True)
                await trio.testing.wait_all_tasks_blocked()
                gate.open()
            assert all(isinstance(r, tuple) for r in results.got.values())
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert flat(batches[:1]) == ["blocker"]
    first_after = flat(batches[1:2])
    assert first_after[0] == "u"
    assert len(first_after) == 1 + URGENT_ORDINARY
    assert sorted(flat(batches)) == sorted(["blocker", "u"] + [f"o{i}" for i in range(400)])
    seqs = [e.seq for batch in batches for e in batch]
    assert seqs == list(range(1, 403))


def test_a_conflicting_claim_fails_alone_in_a_mixed_transaction(tmp_path: Path) -> None:
    """One transaction of urgent and ordinary units: the units whose slot is taken (even
    by an earlier unit of the same batch) fail alone and claim nothing, not even their
    other slots; the rest commit with a gap-free, verified chain."""
    gate, batches = Gate(), list[Sequence[Event]]()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            store = await gated_store(nursery, tmp_path, gate, batches)
            results = Results(store)
            await store.commit(unit("first", 0))
            async with trio.open_nursery() as n:
                await hold_writer(n, results, gate)
                n.start_soon(results.commit, "ord-ok", unit("ord-ok", 60))
                n.start_soon(results.commit, "ord-dup", unit("ord-dup", 120, 0))
                await trio.testing.wait_all_tasks_blocked()
                n.start_soon(results.commit, "ord-late", unit("ord-late", 60))
                await trio.testing.wait_all_tasks_blocked()
                n.start_soon(results.commit, "urg-dup", unit("urg-dup", 180, 0), True)
                n.start_soon(results.commit, "urg-ok", unit("urg-ok", 240), True)
                await trio.testing.wait_all_tasks_blocked()
                before = store.transactions
                gate.open()
            assert store.transactions == before + 2  # the blocker's and one more
            for tag in ("ord-dup", "urg-dup", "ord-late"):
                assert isinstance(results.got[tag], FireAlreadyClaimed), tag
            for seconds in (120, 180):  # claimed by a failed unit: rolled back
                assert not await store.fire_claimed("j", later(seconds))
            for seconds in (0, 60, 240):
                assert await store.fire_claimed("j", later(seconds))
            stored = await store.events(EventQuery())
            assert [e.seq for e in stored] == [1, 2, 3, 4]
            assert verify_chain(stored).ok
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert flat(batches) == ["first", "blocker", "urg-ok", "ord-ok"]


async def test_every_caller_gets_its_own_events_and_seq_stays_gap_free(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Hundreds of urgent and ordinary committers at once, some claims refused: each
    caller gets exactly its own events, published in seq order, and seq runs 1…N."""
    published: list[Event] = []
    store = await running_store(nursery, tmp_path / "g.db", publish=published.extend)
    results = Results(store)
    async with trio.open_nursery() as n:
        for i in range(300):
            changes = Changes(
                claims=(("j", later(i % 250)),),
                events=(draft("j", f"o{i}.a"), draft("j", f"o{i}.b")),
            )
            n.start_soon(results.commit, f"o{i}", changes)
            n.start_soon(results.commit, f"u{i}", unit(f"u{i}"), True)
    refused = [t for t, r in results.got.items() if isinstance(r, FireAlreadyClaimed)]
    assert len(refused) == 50
    for i in range(300):
        assert results.messages(f"u{i}") == [f"u{i}"]
        if f"o{i}" not in refused:
            assert results.messages(f"o{i}") == [f"o{i}.a", f"o{i}.b"]
    stored = await store.events(EventQuery(limit=10_000))
    assert [e.seq for e in stored] == list(range(1, 300 + 2 * 250 + 1))
    assert [e.seq for e in published] == [e.seq for e in stored]
    assert verify_chain(stored).ok
    assert await store.count("fires") == 250


async def test_an_urgent_unit_wakes_an_idle_writer(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """An idle writer (waiting in its mailbox) commits an urgent unit at once."""
    store = await running_store(nursery, tmp_path / "g.db")
    await trio.sleep(5)
    with trio.fail_after(1):
        events = await store.commit(unit("u", 0), urgent=True)
    assert [e.seq for e in events] == [1]
    with trio.fail_after(1):  # and the next ordinary one still finds it
        assert [e.seq for e in await store.commit(unit("o"))] == [2]


def test_stop_drains_both_lanes(tmp_path: Path) -> None:
    """A graceful stop while units wait in both lanes commits all of them; afterwards
    commits are refused."""
    gate = Gate()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            store = SqliteStore(str(tmp_path / "t.db"), crash_point=gate)
            supervisor = Supervisor("infra", children=[store.writer_spec()])
            await nursery.start(supervisor.run)
            await store.begin_boot("boot-1", T0)
            results = Results(store)
            async with trio.open_nursery() as n:
                await hold_writer(n, results, gate)
                for i in range(300):
                    n.start_soon(results.commit, f"o{i}", unit(f"o{i}"))
                for i in range(50):
                    n.start_soon(results.commit, f"u{i}", unit(f"u{i}"), True)
                await trio.testing.wait_all_tasks_blocked()
                n.start_soon(supervisor.terminate_child, "store")
                await trio.testing.wait_all_tasks_blocked()
                gate.open()
            assert all(isinstance(r, tuple) for r in results.got.values()), results.got
            assert len(results.got) == 351
            assert await store.count("events") == 351
            with pytest.raises(ShuttingDown):
                await store.commit(unit("late"), urgent=True)
            nursery.cancel_scope.cancel()
        store.close()

    trio.run(main)


async def test_a_crashed_transaction_answers_its_urgent_units_once(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A transaction that fails (not a claim) fails every unit of it, urgent ones
    included, with ActorCrashed; the restarted writer serves both lanes again."""
    failures = [OSError("disk I/O error")]

    def crash_point(point: str) -> None:
        if point == "mid_group_commit" and failures:
            raise failures.pop()

    store = await running_store(nursery, tmp_path / "g.db", crash_point=crash_point)
    results = Results(store)
    async with trio.open_nursery() as n:
        n.start_soon(results.commit, "u", unit("u", 0), True)
        n.start_soon(results.commit, "o", unit("o", 60))
    assert isinstance(results.got["u"], ActorCrashed)
    assert isinstance(results.got["o"], ActorCrashed)
    await trio.sleep(5)  # the supervisor restarts the writer
    assert [e.seq for e in await store.commit(unit("u2", 0), urgent=True)] == [1]
    assert [e.seq for e in await store.commit(unit("o2", 60))] == [2]
