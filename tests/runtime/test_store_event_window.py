"""The store's event window: ``until_seq`` bounds seqs inclusively and ``newest`` gives the
last ``limit`` matches, still oldest first (what ``events --tail`` reads)."""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
from support.storekit import draft, later, running_store

from gnomon.runtime.model.events import EventType
from gnomon.runtime.store import Changes, EventQuery


async def test_newest_and_until_seq_pick_the_tail_of_a_window(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Ten events of two jobs: the last 3 of job a up to seq 8, oldest first."""
    store = await running_store(nursery, tmp_path / "g.db")
    drafts = [draft("a" if i % 2 else "b", str(i), later(i)) for i in range(1, 11)]
    await store.commit(Changes(events=tuple(drafts)))
    tail = await store.events(EventQuery(job_id="a", until_seq=8, limit=3, newest=True))
    assert [e.seq for e in tail] == [3, 5, 7]
    first = await store.events(EventQuery(job_id="a", until_seq=8, limit=3))
    assert [e.seq for e in first] == [1, 3, 5]
    assert [e.seq for e in await store.events(EventQuery(since_seq=8, newest=True))] == [9, 10]


async def test_newest_applies_type_globs_before_the_limit(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """With a type filter the last N *matching* events come back, not the last N events."""
    store = await running_store(nursery, tmp_path / "g.db")
    fired = [
        attrs.evolve(draft("j", f"f{i}", later(i)), type=EventType.JOB_FIRED) for i in range(3)
    ]
    noise = [draft("j", f"n{i}", later(10 + i)) for i in range(5)]
    await store.commit(Changes(events=(*fired, *noise)))
    got = await store.events(EventQuery(types=("job.fired",), limit=2, newest=True))
    assert [e.message for e in got] == ["f1", "f2"]
