"""The event bus over the real store: fan-out, lag markers, replay without gaps or dups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trio
import trio.testing
from support.storekit import draft, running_store

from gnomon.runtime.event_bus import EventBus, EventFilter, Lagged
from gnomon.runtime.model.events import Event, EventDraft, EventType
from gnomon.runtime.store import Changes, EventQuery
from gnomon.runtime.store.sqlite import SqliteStore


async def wired(
    nursery: trio.Nursery,
    tmp_path: Path,
    capacity: int = 1024,
    listeners: tuple[Callable[[Event], None], ...] = (),
) -> tuple[SqliteStore, EventBus]:
    async def history(query: EventQuery) -> list[Event]:
        return await store.events(query)  # the store is built next, publishing to the bus

    bus = EventBus(history, listeners=listeners, capacity=capacity)
    store = await running_store(nursery, tmp_path / "g.db", publish=bus.publish)
    return store, bus


async def test_lagging_subscriber_resumes_with_exactly_the_committed_sequence(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A slow subscriber gets one Lagged marker, re-subscribes with since_seq and ends up
    with every committed event exactly once, in order."""
    store, bus = await wired(nursery, tmp_path, capacity=4)
    seen: list[int] = []
    markers: list[Lagged] = []
    async with bus.subscribe() as events:
        for i in range(20):
            await store.commit(Changes(events=(draft("j", str(i)),)))
        async for item in events:
            if isinstance(item, Lagged):
                markers.append(item)
                break
            seen.append(item.seq)
    assert len(markers) == 1
    assert seen == [1, 2, 3, 4]
    assert markers[0].resume_from == 4
    async with bus.subscribe(since_seq=markers[0].resume_from) as events:
        await store.commit(Changes(events=(draft("j", "live"),)))
        async for item in events:
            assert isinstance(item, Event)
            seen.append(item.seq)
            if item.seq == 21:
                break
    assert seen == list(range(1, 22))
    assert bus.lagged == 1


async def test_replay_then_live_has_no_gap_and_no_duplicate(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Subscribing from seq 0 while commits continue yields 1..N exactly once."""
    store, bus = await wired(nursery, tmp_path)
    for i in range(600):  # more than one history page
        await store.commit(Changes(events=(draft("j", str(i)),)))

    async def writer() -> None:
        for i in range(200):
            await store.commit(Changes(events=(draft("j", f"live{i}"),)))
            await trio.sleep(0.01)

    seen: list[int] = []
    async with bus.subscribe(since_seq=0) as events:
        for i in range(50):  # after subscribing, before reading: in history *and* live
            await store.commit(Changes(events=(draft("j", f"overlap{i}"),)))
        nursery.start_soon(writer)
        async for item in events:
            assert isinstance(item, Event)
            seen.append(item.seq)
            if len(seen) == 850:
                break
    assert seen == list(range(1, 851))


async def test_filters_and_listeners(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Subscribers filter by job and type glob; listeners see everything synchronously."""
    heard: list[int] = []
    store, bus = await wired(nursery, tmp_path, listeners=(lambda e: heard.append(e.seq),))
    fired = EventDraft(type=EventType.JOB_FIRED, timestamp=draft("a").timestamp, job_id="a")
    got: list[tuple[str | None, str]] = []
    async with bus.subscribe(EventFilter(types=("job.fi*",), job_id="a")) as events:
        await store.commit(Changes(events=(draft("a"), fired, draft("b"))))
        async for item in events:
            assert isinstance(item, Event)
            got.append((item.job_id, item.type))
            break
    assert got == [("a", "job.fired")]
    assert heard == [1, 2, 3]


async def test_an_ephemeral_event_reaches_live_subscribers_only_and_keeps_the_sequence(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """``notify`` delivers an unlogged event (marked ``ephemeral``) between committed ones,
    without a row, without a hash and without disturbing replay or de-duplication; with
    no subscriber its draft is never even made."""
    store, bus = await wired(nursery, tmp_path)
    tick = EventDraft(
        type=EventType.JOB_WAIT_TICK,
        timestamp=draft("j", "x").timestamp,
        job_id="j",
        payload={"poll": 2, "ephemeral": True},
    )

    def unwanted() -> EventDraft:
        raise AssertionError("made without a subscriber")

    bus.notify(unwanted)
    got: list[Event] = []
    async with bus.subscribe() as events:
        await store.commit(Changes(events=(draft("j", "one"),)))
        bus.notify(lambda: tick)
        await store.commit(Changes(events=(draft("j", "two"),)))
        async for item in events:
            assert isinstance(item, Event)
            got.append(item)
            if item.seq == 2:
                break
    assert [(e.seq, e.payload.get("ephemeral", False), bool(e.hash)) for e in got] == [
        (1, False, True),
        (1, True, False),
        (2, False, True),
    ]
    stored = await store.events(EventQuery(limit=10))
    assert [e.seq for e in stored] == [1, 2]


async def test_ready_takes_what_is_queued_without_waiting_and_ends_with_the_lag_marker(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """``ready`` (what a batch subscription packs into one frame) returns the rest of a
    replayed page, then the live queue, de-duplicated across the two, never waiting; after
    an overflow it ends with the one :class:`Lagged` marker, resuming after the last event
    it returned."""
    store, bus = await wired(nursery, tmp_path, capacity=4)
    for i in range(3):
        await store.commit(Changes(events=(draft("j", f"old{i}"),)))
    async with bus.subscribe(since_seq=0) as events:
        await store.commit(Changes(events=(draft("j", "live"),)))  # seq 4: queued, live
        first = await events.__anext__()  # reads the history page (1..4)
        rest = events.ready(10)
        assert [first.seq, *(e.seq for e in rest if isinstance(e, Event))] == [1, 2, 3, 4]
        assert events.ready(10) == []  # the queued 4 was a duplicate of the page's
        for i in range(6):  # overflows the queue of 4
            await store.commit(Changes(events=(draft("j", f"more{i}"),)))
        tail = events.ready(100)
    assert [e.seq for e in tail if isinstance(e, Event)] == [5, 6, 7, 8]
    assert tail[-1] == Lagged(resume_from=8)
