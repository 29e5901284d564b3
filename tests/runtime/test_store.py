"""The store contract: units of work, slot claims, group commit, the chain, queries, boots.

The tests taking ``db`` (``conftest.py``) run against both stores: SQLite (a file in the
test's directory) and PostgreSQL (a fresh database per test, ``support/pgkit.py``;
skipped with the reason where no server answers). The others use SQLite's own file and tools."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing
from support.storekit import T0, draft, later, running_store, state

from gnomon.runtime.job_metrics import JobSeries
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.events import Event, verify_chain
from gnomon.runtime.model.state import OUTPUT_TAIL_BYTES, RunRecord
from gnomon.runtime.store import Changes, EventQuery, FireAlreadyClaimed, JobQuery
from gnomon.runtime.store.lock import HomeLock, HomeLocked
from gnomon.runtime.store.sqlite import SqliteStore


def reopen(db: str) -> SqliteStore:
    """The store at ``db`` without its writer (boots and reads only)."""
    if db.startswith("postgresql://"):
        from gnomon.runtime.store.pg import PgStore

        return PgStore(db, inline=True)  # type: ignore[return-value]
    return SqliteStore(db, inline=True)


async def test_unit_of_work_commits_state_claims_and_sealed_events(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """A unit writes its job, claims and events together; events are sealed and chained."""
    published: list[Event] = []
    store = await running_store(nursery, db, publish=published.extend)
    events = await store.commit(
        Changes(jobs=(state("j1"),), claims=(("j1", T0),), events=(draft("j1"), draft("j1")))
    )
    assert [e.seq for e in events] == [1, 2]
    assert published == list(events)
    assert verify_chain(events).ok
    got = await store.get_job("j1")
    assert got == state("j1")
    assert await store.fire_claimed("j1", T0)


async def test_duplicate_claim_rolls_back_only_its_unit(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """In one group commit, the unit whose slot was claimed writes nothing; others commit;
    seq stays gap-free and only committed events are published."""
    published: list[Event] = []
    store = await running_store(nursery, db, publish=published.extend)
    await store.commit(Changes(claims=(("j", T0),), events=(draft("j", "first"),)))
    results: dict[str, object] = {}

    async def commit(tag: str, changes: Changes) -> None:
        try:
            results[tag] = await store.commit(changes)
        except FireAlreadyClaimed as exc:
            results[tag] = exc

    async with trio.open_nursery() as n:
        n.start_soon(
            commit,
            "dup",
            Changes(jobs=(state("x"),), claims=(("j", T0),), events=(draft("j", "dup"),)),
        )
        n.start_soon(commit, "ok", Changes(claims=(("j", later(60)),), events=(draft("j", "ok"),)))
    assert isinstance(results["dup"], FireAlreadyClaimed)
    assert await store.get_job("x") is None
    assert [e.message for e in published] == ["first", "ok"]
    stored = await store.events(EventQuery())
    assert [e.seq for e in stored] == [1, 2]
    assert verify_chain(stored).ok


async def test_group_commit_batches_concurrent_units(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Many concurrent commits share few transactions; each caller gets its own events."""
    store = await running_store(nursery, db)
    before = store.transactions
    got: list[tuple[Event, ...]] = []

    async def commit(i: int) -> None:
        got.append(await store.commit(Changes(events=(draft(f"j{i}", str(i)),))))

    async with trio.open_nursery() as n:
        for i in range(100):
            n.start_soon(commit, i)
    assert len(got) == 100
    assert sorted(e.seq for events in got for e in events) == list(range(1, 101))
    assert store.transactions - before < 10


async def test_big_records_survive_and_outputs_are_capped(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Records far above 4 KiB round-trip (reference bug 16.1.2); outputs keep their tail."""
    store = await running_store(nursery, db)
    big = state("big", command="echo " + "x" * 100_000)
    output = "".join(f"line {i}\n" for i in range(20_000))
    run = RunRecord(
        run_id="big.1.1",
        job_id="big",
        cycle=1,
        attempt=1,
        fire_time=T0,
        started_at=T0,
        finished_at=later(1),
        outcome=Outcome.SUCCESS,
        output=output,
    )
    await store.commit(Changes(jobs=(big,), runs=(run,)))
    store.close()
    reopened = await running_store(nursery, db)
    assert await reopened.get_job("big") == big
    (stored,) = await reopened.runs("big")
    assert len(stored.output.encode()) <= OUTPUT_TAIL_BYTES
    assert stored.output.endswith("line 19999\n")


async def test_queries_index_runs_and_open_runs(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """The boot index lists live jobs cheaply; list_jobs filters; open runs by boot."""
    store = await running_store(nursery, db, boot="boot-1")
    tagged = state("a", "backup")
    tagged = attrs.evolve(
        tagged, spec=attrs.evolve(tagged.spec, tags={"env": "prod"}), next_fire_at=later(3600)
    )
    done = state("b", "done", status=JobStatus.COMPLETED, finished_at=T0)
    run = RunRecord(
        run_id="a.1.1", job_id="a", cycle=1, attempt=1, fire_time=T0, started_at=T0, pid=42, pgid=42
    )
    await store.commit(Changes(jobs=(tagged, done), wakes=(later(3600), None), runs=(run,)))
    index = await store.job_index()
    assert [(r.id, r.wake) for r in index] == [("a", later(3600))]
    await store.commit(Changes(jobs=(attrs.evolve(tagged, updated_at=later(5)),)))
    index = await store.job_index()  # no wake given: due at once (found at the next boot)
    assert [(r.id, r.wake) for r in index] == [("a", later(5))]
    await store.commit(Changes(jobs=(tagged,), wakes=(later(3600),)))
    with pytest.raises(ValueError, match="1 wake time"):
        Changes(jobs=(tagged, done), wakes=(None,))
    assert [j.id for j in await store.list_jobs(JobQuery(tags=(("env", "prod"),)))] == ["a"]
    assert [j.id for j in await store.list_jobs(JobQuery(include_terminal=True))] == ["a", "b"]
    assert [j.id for j in await store.list_jobs(JobQuery(name="BACK"))] == ["a"]
    assert await store.open_runs("boot-1") == []
    store.boot_id = "boot-2"
    assert [r.run_id for r in await store.open_runs("boot-2")] == ["a.1.1"]


async def test_prune_removes_expired_terminal_jobs_in_batches(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Terminal jobs go once finished_at + ttl passes, with their runs and slots."""
    store = await running_store(nursery, db)
    jobs = tuple(state(f"d{i}", status=JobStatus.COMPLETED, finished_at=T0) for i in range(5))
    await store.commit(Changes(jobs=(*jobs, state("live")), claims=(("d0", T0),)))
    assert await store.prune(later(3600)) == 0
    assert await store.prune(later(86400), batch=3) == 3
    assert await store.prune(later(86400), batch=3) == 2
    assert await store.count("jobs") == 1
    assert await store.count("fires") == 0


async def test_boots_and_chain_continue_across_reopen(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """A boot without end_boot is unclean; a reopened store continues seq and chain."""
    first = await running_store(nursery, db)
    await first.commit(Changes(events=(draft("j"),)))
    first.close()
    second = reopen(db)
    info = await second.begin_boot("boot-2", later(5))
    assert not info.first_boot
    assert not info.previous_clean
    await second.end_boot("boot-2", later(6))
    assert (await second.begin_boot("boot-3", later(7))).previous_clean
    assert await second.last_seq() == 1
    second.close()
    third = await running_store(nursery, db)
    await third.commit(Changes(events=(draft("j"),)))
    assert verify_chain(await third.events(EventQuery())).ok


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap"])
async def test_verify_names_the_first_bad_seq(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path, tamper: str
) -> None:
    """Editing, deleting or swapping one events row breaks the chain at that seq."""
    path = tmp_path / "g.db"
    store = await running_store(nursery, path)
    await store.commit(Changes(events=tuple(draft("j", f"e{i}") for i in range(6))))
    store.close()
    conn = sqlite3.connect(path)
    if tamper == "edit":
        conn.execute("UPDATE events SET event = replace(event, 'e3', 'E3') WHERE seq = 4")
    elif tamper == "delete":
        conn.execute("DELETE FROM events WHERE seq = 4")
    else:
        rows = conn.execute("SELECT seq, event FROM events WHERE seq IN (4, 5)").fetchall()
        conn.execute("UPDATE events SET event = ? WHERE seq = 4", (rows[1][1],))
        conn.execute("UPDATE events SET event = ? WHERE seq = 5", (rows[0][1],))
    conn.commit()
    conn.close()
    reopened = SqliteStore(str(path), inline=True)
    check = verify_chain(await reopened.events(EventQuery(limit=100)))
    assert not check.ok
    assert check.first_bad_seq == 4


def test_home_lock_refuses_a_second_holder_naming_the_pid(tmp_path: Path) -> None:
    """Two locks on one home: the second is refused with the holder's pid."""
    with HomeLock(tmp_path), pytest.raises(HomeLocked, match=r"pid \d+"):
        HomeLock(tmp_path).acquire()
    with HomeLock(tmp_path):  # released: free again
        pass


def test_real_thread_executor(tmp_path: Path) -> None:
    """With the worker-thread executor (the daemon's), commits and reads work the same."""

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            store = await running_store(nursery, tmp_path / "t.db", inline=False)
            events = await store.commit(Changes(jobs=(state("t"),), events=(draft("t"),)))
            assert [e.seq for e in events] == [1]
            assert await store.get_job("t") == state("t")
            assert await store.integrity_check() == "ok"
            nursery.cancel_scope.cancel()

    trio.run(main)


async def test_a_failed_prune_leaves_the_store_writable(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A prune that fails half-way rolls back; the next commit still works."""
    path = tmp_path / "g.db"
    store = await running_store(nursery, path)
    jobs = tuple(state(f"d{i}", status=JobStatus.COMPLETED, finished_at=T0) for i in range(3))
    await store.commit(Changes(jobs=jobs))
    conn = sqlite3.connect(path)  # a failing disk, as SQLite would report it mid-delete
    conn.execute(
        "CREATE TRIGGER no_delete BEFORE DELETE ON jobs WHEN old.id = 'd2'"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(sqlite3.IntegrityError):
        await store.prune(later(86400))
    events = await store.commit(Changes(jobs=(state("live"),), events=(draft("live"),)))
    assert [e.seq for e in events] == [1]
    assert await store.count("jobs") == 4  # the failed batch deleted nothing


def test_last_seq_never_reports_a_batch_in_flight(tmp_path: Path) -> None:
    """While a group commit is inside its transaction, last_seq still names the last
    committed event (a subscriber starting there must not skip what commits next)."""
    seen: list[int] = []
    holder: list[SqliteStore] = []

    def inside_transaction(point: str) -> None:
        if point == "mid_group_commit":
            seen.append(trio.from_thread.run(holder[0].last_seq))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            store = await running_store(
                nursery, tmp_path / "t.db", inline=False, crash_point=inside_transaction
            )
            holder.append(store)
            await store.commit(Changes(events=(draft("j"), draft("j"))))
            assert await store.last_seq() == 2
            nursery.cancel_scope.cancel()

    trio.run(main)
    assert seen == [0]


async def test_metrics_catalog_and_history_read_the_chosen_jobs(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """The per-job metrics' start-up reads: the first untagged jobs (oldest first) plus
    every tagged-on one, then their next fire, last success and last finished run."""
    store = await running_store(nursery, db)
    jobs = []
    for i in range(6):
        job = state(f"j{i}", next_fire_at=later(60) if i == 1 else None)
        tags = {"metrics": "on"} if i == 5 else {"metrics": "off"} if i == 4 else {}
        jobs.append(attrs.evolve(job, spec=attrs.evolve(job.spec, tags=tags)))
    run = RunRecord(
        run_id="j1.1.1", job_id="j1", cycle=1, attempt=1, fire_time=T0, started_at=T0,
        finished_at=later(2), outcome=Outcome.SUCCESS,
    )  # fmt: skip
    await store.commit(Changes(jobs=tuple(jobs), runs=(run,)))
    series = JobSeries(max_jobs=2)
    chosen = [r.id for r in await store.job_catalog("metrics", series.classify, 2)]
    assert chosen == ["j0", "j1", "j5"]
    history = {h.id: h for h in await store.job_history(["j1", "j5", "gone"])}
    assert set(history) == {"j1", "j5"}
    assert history["j1"].next_fire_at == later(60).isoformat()
    assert history["j1"].last_success_ts == later(2).timestamp()
    assert history["j1"].last_run == run
    assert history["j5"].last_run is None
