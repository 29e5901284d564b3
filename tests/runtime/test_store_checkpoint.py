"""The SQLite store's WAL checkpoints off the commit path (runtime/store/checkpoint.py):
a background connection copies the WAL back, the writer finishes when idle, the WAL
file starts over and stays bounded, and closing leaves no WAL behind. Real threads and
real time: the background thread is a real one."""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
import time
from pathlib import Path

import trio
from support.storekit import draft, running_store, state

from gnomon.runtime.store import Changes
from gnomon.runtime.store.checkpoint import AUTO_BOUND, POLL, Checkpointer, waiting_frames
from gnomon.runtime.store.sqlite import SqliteStore


def unit(tag: str, n: int = 20) -> Changes:
    """``n`` jobs of ~3 KB and an event: a dozen or more WAL pages."""
    jobs = tuple(state(f"{tag}-{i}", command="x" * 3000) for i in range(n))
    return Changes(jobs=jobs, events=(draft(f"{tag}-0", tag),))


def wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def wal_frames(path: Path) -> int:
    """Frames in the WAL now (the WAL index's ``mxFrame``): it starts over from 0."""
    shm = os.open(f"{path}-shm", os.O_RDONLY)
    try:
        return int(struct.unpack("=I", os.pread(shm, 4, 16))[0])
    finally:
        os.close(shm)


async def commit_many(store: SqliteStore, path: Path, count: int) -> int:
    """Commit ``count`` units one after another; the largest WAL file seen."""
    largest = 0
    for i in range(count):
        await store.commit(unit(f"u{i}"))
        largest = max(largest, wal_bytes(path))
    return largest


async def commit_until_finished(store: SqliteStore, path: Path) -> tuple[int, int]:
    """Commit units one after another until the writer finished a background pass
    twice (at least 600 units); how many, and the largest WAL file seen."""
    assert store.checkpointer is not None
    largest, count = 0, 0
    with trio.fail_after(30):
        while count < 600 or store.checkpointer.finishes < 2:
            await store.commit(unit(f"u{count}"))
            count += 1
            largest = max(largest, wal_bytes(path))
    return count, largest


def test_a_writing_store_keeps_its_wal_small_and_its_writer_finishes(tmp_path: Path) -> None:
    """Units committed back to back over several periods: background passes copy the
    WAL back while the writer appends, the writer finishes them between units, and
    the WAL file starts over: it stays a fraction of the WAL the same units make with no
    checkpoint at all (SQLite's automatic checkpoint at AUTO_BOUND pages is the bound;
    how far past it a WAL gets depends on how fast the background pass is)."""
    ours, bare = tmp_path / "ours.db", tmp_path / "bare.db"

    async def main() -> tuple[int, int, int, int]:
        async with trio.open_nursery() as nursery:
            store = await running_store(nursery, ours, inline=False)
            control = await running_store(nursery, bare, inline=False, background_checkpoints=False)
            control._conn.execute("PRAGMA wal_autocheckpoint=0")
            assert store.checkpointer is not None
            assert control.checkpointer is None
            count, largest = await commit_until_finished(store, ours)
            everything = await commit_many(control, bare, count)
            checkpointer = store.checkpointer
            nursery.cancel_scope.cancel()
        store.close()
        control.close()
        return largest, everything, checkpointer.passes, checkpointer.finishes

    largest, everything, passes, finishes = trio.run(main)
    assert passes >= 2
    assert finishes >= 2
    assert everything > 2 * (32 + AUTO_BOUND * (4096 + 24))
    assert largest * 2 < everything


def test_an_idle_store_is_checkpointed_in_the_background_and_closes_clean(
    tmp_path: Path,
) -> None:
    """After a few commits the writer waits: a background pass copies the whole WAL
    back and starts it over (only the one-row write that restarted it is left in it);
    ``close`` stops the thread and the last connection removes the WAL; the data is all
    there."""
    path = tmp_path / "g.db"

    async def main() -> int:
        async with trio.open_nursery() as nursery:
            store = await running_store(nursery, path, inline=False)
            assert store.checkpointer is not None
            store.checkpointer.frames = 1  # a pass at the first commit's frames
            for i in range(5):
                await store.commit(unit(f"u{i}", n=2))
            checkpointer = store.checkpointer
            assert checkpointer is not None
            with trio.fail_after(10):
                while wal_frames(path) > 2:  # noqa: ASYNC110 (a real thread copies)
                    await trio.sleep(POLL)
            nursery.cancel_scope.cancel()
        store.close()
        assert checkpointer._thread is None
        return checkpointer.passes

    passes = trio.run(main)
    assert passes >= 1
    assert not os.path.exists(f"{path}-wal")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 10
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 5
    conn.close()


def test_stores_without_a_file_or_on_the_trio_thread_checkpoint_inline(tmp_path: Path) -> None:
    """In memory, and inline (virtual-time tests), SQLite checkpoints as it always did."""
    for store in (SqliteStore(":memory:"), SqliteStore(str(tmp_path / "i.db"), inline=True)):
        assert store.checkpointer is None
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        store.close()


def test_the_frames_waiting_are_read_from_the_wal_index(tmp_path: Path) -> None:
    """The count the background thread reads from ``-shm`` is SQLite's own: the frames a
    checkpoint then copies back, and none once it did."""
    path = tmp_path / "w.db"
    store = SqliteStore(str(path), background_checkpoints=False)
    store._conn.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(3):
        store._conn.execute("INSERT INTO meta VALUES (?, ?)", (f"k{i}", "v" * 5000))
    shm = os.open(f"{path}-shm", os.O_RDONLY)
    try:
        waiting = waiting_frames(shm)
        other = sqlite3.connect(path)
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        other.close()
        assert (busy, frames, copied) == (0, waiting, waiting)
        assert waiting is not None
        assert waiting >= 3
        assert waiting_frames(shm) == 0
    finally:
        os.close(shm)
        store.close()


def test_close_stops_the_thread_whenever_it_comes(tmp_path: Path) -> None:
    """``close`` right after a commit, at any point of the thread's loop (the look every
    POLL seconds, a pass), ends the thread: a stop is never lost."""
    path = tmp_path / "c.db"
    store = SqliteStore(str(path), background_checkpoints=False)
    try:
        for i in range(60):
            checkpointer = Checkpointer(str(path), "NORMAL")
            checkpointer.frames = 0  # every look is a pass
            checkpointer.start()
            for _ in range(i % 4):
                checkpointer.wrote()
                time.sleep(POLL * (i % 7) / 5)
            closer = threading.Thread(target=checkpointer.close)
            closer.start()
            closer.join(timeout=10)
            assert not closer.is_alive(), f"close hung in round {i}"
    finally:
        store.close()


def test_a_wal_a_reader_keeps_from_starting_over_is_left_to_the_writer(tmp_path: Path) -> None:
    """A reader on another connection (a backup) lets a background pass copy the whole
    WAL back but not start it over (its one-row write lands at the WAL's end); the pass
    then leaves that to the writer, which does it when idle after its next unit, once
    the reader is gone."""
    path = tmp_path / "r.db"

    async def main() -> tuple[int, int]:
        async with trio.open_nursery() as nursery:
            store = await running_store(nursery, path, inline=False)
            checkpointer = store.checkpointer
            assert checkpointer is not None
            checkpointer.frames = 10**9  # no pass yet
            for i in range(3):
                await store.commit(unit(f"u{i}", n=2))
            await trio.sleep(5 * POLL)  # the thread has seen those commits: it waits
            reader = sqlite3.connect(path, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM jobs").fetchone()  # reads the whole WAL
            checkpointer.frames = 1
            checkpointer.wrote()  # a pass now: it copies everything, cannot start over
            with trio.fail_after(5):
                while not checkpointer.behind:  # noqa: ASYNC110 (a real thread sets it)
                    await trio.sleep(POLL)
            assert checkpointer.passes == 1
            held = wal_frames(path)
            reader.execute("COMMIT")
            reader.close()
            checkpointer.frames = 10**9  # no more background passes
            await store.commit(unit("w", n=2))
            with trio.fail_after(10):
                while checkpointer.finishes == 0:  # noqa: ASYNC110 (the writer finishes)
                    await trio.sleep(POLL)
            after = wal_frames(path)
            nursery.cancel_scope.cancel()
        store.close()
        return held, after

    held, after = trio.run(main)
    assert held > 2
    assert after <= 2
