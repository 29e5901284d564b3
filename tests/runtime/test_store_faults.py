"""Storage faults: a full disk (SQLite's real SQLITE_FULL through ``max_page_count``),
corruption met at run time, the bounded integrity check — the store refuses with
``StoreUnavailable`` and lives on; engine saves wait and are written whole later."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trio.testing
from support.storekit import draft, running_store, state

from gnomon.actors.job.ports import Save
from gnomon.actors.persistence import StorePersistence
from gnomon.runtime import Supervisor
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.events import verify_chain
from gnomon.runtime.store import Changes, EventQuery
from gnomon.runtime.store.health import RETRY_EVERY
from gnomon.runtime.store.sqlite import SqliteStore


def fill(store: SqliteStore) -> None:
    """Cap the database at its current size: the next write that grows it gets SQLite's
    SQLITE_FULL, exactly as on a full disk (the cap is per connection: the store's)."""
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count={pages}")


def free(store: SqliteStore) -> None:
    store._conn.execute("PRAGMA max_page_count=1000000")


def big(tag: str, n: int = 20) -> Changes:
    """A unit that needs new pages (20 jobs of 3 KB each, and an event)."""
    jobs = tuple(state(f"{tag}{i}", command="x" * 3000) for i in range(n))
    return Changes(jobs=jobs, events=(draft(tag, tag),))


async def test_a_full_disk_refuses_the_unit_and_the_writer_lives_on(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """SQLITE_FULL fails the unit with 'disk full: <db>' and records the fault; nothing of
    it is written, the chain does not move, the writer keeps answering, and its probe
    clears the fault by itself once space returns."""
    store = await running_store(nursery, tmp_path / "g.db")
    await store.commit(Changes(events=(draft("j", "before"),)))
    fill(store)
    with pytest.raises(StoreUnavailable, match=r"^disk full: .*g\.db") as caught:
        await store.commit(big("a"))
    assert caught.value.exit_code == 5
    assert caught.value.recoverable
    assert await store.get_job("a0") is None
    assert await store.last_seq() == 1
    problem = await store.problem()
    assert (problem or "").startswith("disk full:")
    free(store)
    with trio.fail_after(RETRY_EVERY * 3):
        await store.wait_writable()
    assert await store.problem() is None
    events = await store.commit(big("b"))
    assert [e.seq for e in events] == [2]
    assert verify_chain(await store.events(EventQuery())).ok
    assert (await store.verify_audit()).ok


async def test_engine_saves_wait_for_space_and_client_saves_fail_at_once(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A job actor's save during a full disk waits and is committed whole once space
    returns; a client's (job.create) is refused at once with the fault."""
    store = await running_store(nursery, tmp_path / "g.db")
    persistence = StorePersistence(store)
    fill(store)
    with pytest.raises(StoreUnavailable, match=r"^disk full:"):
        await persistence.save(Save(job=big("c").jobs[0], client=True))
    saved = trio.Event()

    async def engine_save() -> None:
        unit = big("e")
        await persistence.save(Save(job=unit.jobs[0], events=unit.events))
        saved.set()

    nursery.start_soon(engine_save)
    await trio.sleep(RETRY_EVERY * 5)
    assert not saved.is_set()
    assert await store.get_job("e0") is None
    free(store)
    with trio.fail_after(RETRY_EVERY * 3):
        await saved.wait()
    assert await store.get_job("e0") is not None
    assert [e.message for e in await store.events(EventQuery())] == ["e"]


async def test_corruption_met_at_run_time_is_a_standing_fault(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A read that meets undecodable text raises 'database corrupt: <db>', and the fault
    stays (a successful write does not clear it): health keeps naming it."""
    path = tmp_path / "g.db"
    store = await running_store(nursery, path)
    await store.commit(Changes(jobs=(state("j"),)))
    other = sqlite3.connect(path)
    other.execute("UPDATE jobs SET state = CAST(x'7b22ff' AS TEXT) WHERE id = 'j'")
    other.commit()
    other.close()
    with pytest.raises(StoreUnavailable, match=r"^database corrupt: .*g\.db") as caught:
        await store.get_job("j")
    assert not caught.value.recoverable
    await store.commit(Changes(events=(draft("j"),)))
    await trio.sleep(RETRY_EVERY * 3)
    problem = await store.problem()
    assert (problem or "").startswith("database corrupt:")


def corrupt_late_page(path: Path) -> None:
    """Overwrite the header of the last page that breaks ``quick_check`` (a damaged
    b-tree page late in the file)."""
    good = path.read_bytes()
    for page in range(len(good) // 4096 - 1, 1, -1):
        bad = bytearray(good)
        bad[page * 4096 : page * 4096 + 64] = b"\xff" * 64
        path.write_bytes(bytes(bad))
        conn = sqlite3.connect(path)
        try:
            found = conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        except sqlite3.DatabaseError:
            found = True
        finally:
            conn.close()
        if found:
            return
    raise AssertionError("no page whose damage quick_check sees")


async def test_the_start_check_refuses_a_corrupt_database_and_is_bounded(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """check_integrity names the damage of a late page; with no time left it only logs."""
    path = tmp_path / "g.db"
    store = await running_store(nursery, path)
    for i in range(5):
        await store.commit(big(f"b{i}", n=100))
    store.check_integrity(10.0)
    store.close()
    corrupt_late_page(path)
    reopened = SqliteStore(str(path), inline=True)
    with pytest.raises(StoreUnavailable, match=r"^database corrupt: .*g\.db.*backup"):
        reopened.check_integrity(10.0)
    reopened.check_integrity(0.0)  # out of budget at once: skipped, not refused


def test_a_first_start_killed_while_creating_leaves_no_empty_database(tmp_path: Path) -> None:
    """SIGKILL while a new database is being built leaves no gnomon.db (a start refuses
    an empty one), only a draft; the next start is a fresh start and removes the draft."""
    db = tmp_path / "gnomon.db"
    code = f"from gnomon.runtime.store.sqlite import SqliteStore; SqliteStore({str(db)!r})"
    env = {**os.environ, "GNOMON_CRASH_AT": "creating_store"}
    died = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert died.returncode == -signal.SIGKILL
    assert not db.exists()
    SqliteStore(str(db), inline=True).close()
    assert db.read_bytes()[:16] == b"SQLite format 3\x00"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gnomon.db"]


async def test_the_health_probe_is_a_real_write_and_sees_a_stopped_writer(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """The probe goes through the writer and writes a timestamp (an empty commit used to
    return before reaching it); with the writer stopped it names that."""
    path = tmp_path / "g.db"
    store = SqliteStore(str(path), inline=True)
    supervisor = Supervisor("infra", children=[store.writer_spec()])
    await nursery.start(supervisor.run)
    before = store.transactions
    assert await store.problem() is None
    assert store.transactions == before + 1
    probed = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='probe_ts'")
    assert probed.fetchone() is not None
    await supervisor.stop()
    assert await store.problem() == "the store is not running"


async def test_a_stopping_daemon_stops_saves_waiting_for_space(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """An engine save waiting on a full disk fails with the fault once the daemon gives up
    (its stop must not wait for space that never comes)."""
    store = await running_store(nursery, tmp_path / "g.db")
    persistence = StorePersistence(store)
    fill(store)
    failed: list[BaseException] = []

    async def engine_save() -> None:
        unit = big("w")
        try:
            await persistence.save(Save(job=unit.jobs[0], events=unit.events))
        except StoreUnavailable as exc:
            failed.append(exc)

    nursery.start_soon(engine_save)
    await trio.sleep(RETRY_EVERY * 3)
    assert not failed
    store.health.give_up()
    await trio.sleep(0.1)
    assert [str(e).split(":")[0] for e in failed] == ["disk full"]
