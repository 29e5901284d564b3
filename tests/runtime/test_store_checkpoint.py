"""The SQLite store's WAL checkpoints off the commit path (runtime/store/checkpoint.py):
a background connection copies the WAL back, the writer finishes when idle, the WAL
file starts over and stays bounded, and closing leaves no WAL behind. Real threads and
real time: the background thread is a real one."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import trio
from support.storekit import draft, running_store, state

from gnomon.runtime.store import Changes
from gnomon.runtime.store.checkpoint import AUTO_BOUND, PERIOD
from gnomon.runtime.store.sqlite import SqliteStore


def unit(tag: str, n: int = 20) -> Changes:
    """``n`` jobs of ~3 KB and an event: a dozen or more WAL pages."""
    jobs = tuple(state(f"{tag}-{i}", command="x" * 3000) for i in range(n))
    return Changes(jobs=jobs, events=(draft(f"{tag}-0", tag),))


def wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


async def commit_many(store: SqliteStore, path: Path, count: int) -> int:
    """Commit ``count`` units one after another; the largest WAL file seen."""
    largest = 0
    for i in range(count):
        await store.commit(unit(f"u{i}"))
        largest = max(largest, wal_bytes(path))
    return largest


async def commit_until_finished(store: SqliteStore, path: Path) -> tuple[int, int]:
    """Commit units one after another until the writer finished a background pass
    twice (at least 300 units); how many, and the largest WAL file seen."""
    assert store.checkpointer is not None
    largest, count = 0, 0
    with trio.fail_after(30):
        while count < 300 or store.checkpointer.finishes < 2:
            await store.commit(unit(f"u{count}"))
            count += 1
            largest = max(largest, wal_bytes(path))
    return count, largest


def test_a_writing_store_keeps_its_wal_small_and_its_writer_finishes(tmp_path: Path) -> None:
    """Units committed back to back over several periods: background passes copy the
    WAL back while the writer appends, the writer finishes them between units, and
    the WAL file starts over: it stays within SQLite's bound (at a fraction of the WAL
    the same units make with no checkpoint at all)."""
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
    bound = 32 + (AUTO_BOUND + 200) * (4096 + 24)  # header, frames, one transaction more
    assert largest <= bound < everything / 2


def test_an_idle_store_is_checkpointed_in_the_background_and_closes_clean(
    tmp_path: Path,
) -> None:
    """After a few commits the writer waits: one background pass copies the whole WAL
    back and starts it over (the writer has nothing to finish); ``close`` stops the
    thread and the last connection removes the WAL; the data is all there."""
    path = tmp_path / "g.db"

    async def main() -> tuple[int, int, int]:
        async with trio.open_nursery() as nursery:
            store = await running_store(nursery, path, inline=False)
            for i in range(5):
                await store.commit(unit(f"u{i}", n=2))
            checkpointer = store.checkpointer
            assert checkpointer is not None
            with trio.fail_after(10):
                while checkpointer.passes == 0:  # noqa: ASYNC110 (a real thread counts)
                    await trio.sleep(PERIOD / 2)
            await trio.sleep(PERIOD / 2)
            other = sqlite3.connect(path)
            busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            other.close()
            assert busy == 0
            assert frames == copied
            nursery.cancel_scope.cancel()
        store.close()
        assert checkpointer._thread is None
        return frames, checkpointer.passes, checkpointer.finishes

    frames, passes, finishes = trio.run(main)
    assert frames <= 2  # the one-row write that started the WAL over
    assert passes == 1
    assert finishes == 0
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
