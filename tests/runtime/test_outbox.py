"""A session's outbox (bounded by frames and bytes) and in-flight bound: producers wait
when full, order is kept, nothing is lost or queued by a cancelled put."""

from __future__ import annotations

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.gateway.outbox import InFlight, Outbox


async def test_put_waits_while_full_by_count() -> None:
    """With ``max_items`` frames queued a put waits until the writer takes some."""
    box = Outbox(max_items=2, max_bytes=1 << 20)
    await box.put("a")
    await box.put("b")
    assert box.full
    assert not box.put_nowait("c")
    done: list[str] = []

    async def producer() -> None:
        await box.put("c")
        done.append("c")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(producer)
        await trio.testing.wait_all_tasks_blocked()
        assert done == []
        assert await box.take(1) == ["a"]
    assert done == ["c"]
    assert await box.take(10) == ["b", "c"]


async def test_put_waits_while_full_by_bytes_but_one_big_frame_fits() -> None:
    """The byte bound holds back frames once reached; an empty box takes any frame."""
    box = Outbox(max_items=100, max_bytes=10)
    assert box.put_nowait("x" * 50)  # alone, a frame over the bound still goes
    assert not box.put_nowait("y")
    assert await box.take(5) == ["x" * 50]
    assert box.put_nowait("0123456789")
    assert not box.put_nowait("z")


async def test_cancelled_put_queues_nothing(autojump_clock: trio.testing.MockClock) -> None:
    """A put cancelled while waiting leaves the box as it was."""
    box = Outbox(max_items=1, max_bytes=100)
    await box.put("first")
    with trio.move_on_after(1):
        await box.put("second")
    assert len(box) == 1
    assert await box.take(10) == ["first"]


async def test_take_waits_for_a_frame() -> None:
    """The writer waits on an empty box and wakes with the next frame."""
    box = Outbox(max_items=4, max_bytes=100)
    got: list[list[str]] = []

    async def writer() -> None:
        got.append(await box.take(4))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert box.put_nowait("hello")
    assert got == [["hello"]]


async def test_inflight_bounds_and_releases() -> None:
    """Acquiring past the limit waits until enough is released; a batch never needs more
    than the whole limit and a cancel-only batch needs nothing."""
    slots = InFlight(3)
    assert slots.weight(100) == 3
    assert slots.weight(0) == 0
    await slots.acquire(2)
    order: list[str] = []

    async def reader() -> None:
        await slots.acquire(2)
        order.append("acquired")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        assert order == []
        assert slots.running == 2
        slots.release(1)
    assert order == ["acquired"]
    assert slots.running == 3
    await slots.acquire(0)


@given(
    frames=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=60),
    items=st.integers(1, 8),
    nbytes=st.integers(1, 80),
    most=st.integers(1, 10),
)
def test_every_frame_arrives_once_in_order(
    frames: list[str], items: int, nbytes: int, most: int
) -> None:
    """Whatever the bounds, one producer's frames reach the writer once each, in order,
    and the box never holds more than its bounds (plus the one frame an empty box takes)."""
    got: list[str] = []

    async def main() -> None:
        box = Outbox(max_items=items, max_bytes=nbytes)

        async def producer() -> None:
            for frame in frames:
                await box.put(frame)
                assert len(box) <= items

        async def writer() -> None:
            while len(got) < len(frames):
                got.extend(await box.take(most))
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            nursery.start_soon(writer)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert got == frames


async def test_packed_notes_join_the_newest_pack_of_their_subscription_until_taken() -> None:
    """A batch subscription's notes join the tail pack of the same key (one frame, a JSON
    array when several); another frame or key in between starts a new one; once the
    writer took a pack, later notes start a new one; the byte bound still holds."""
    box = Outbox(max_items=10, max_bytes=1 << 20)
    assert box.pack_nowait("s1", ["1"])
    assert box.pack_nowait("s1", ["2", "3"])
    assert box.put_nowait("answer")
    assert box.pack_nowait("s1", ["4"])
    assert box.pack_nowait("s2", ["x"])
    assert len(box) == 4
    assert await box.take(10) == ["[1,2,3]", "answer", "4", "x"]
    assert box.pack_nowait("s1", ["5"])
    assert await box.take(10) == ["5"]
    small = Outbox(max_items=10, max_bytes=4)
    assert small.pack_nowait("s", ["abcd"])
    assert not small.pack_nowait("s", ["e"])  # the bound is reached: nothing joins
    assert await small.take(1) == ["abcd"]
    assert small.pack_nowait("s", ["e"])


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.text("xyz0", min_size=1, max_size=5)))
)
def test_packing_keeps_every_note_in_order_and_the_byte_count_exact(
    puts: list[tuple[str | None, str]],
) -> None:
    """Whatever mix of packs and plain frames, taking everything yields every text once,
    in order, and leaves the box at zero bytes."""

    async def run() -> None:
        box = Outbox(max_items=len(puts) + 1, max_bytes=1 << 20)
        for key, text in puts:
            assert box.pack_nowait(key, [text]) if key else box.put_nowait(text)
        out: list[str] = []
        while len(box):
            for frame in await box.take(3):
                out.extend(frame[1:-1].split(",") if frame.startswith("[") else [frame])
        assert out == [text for _, text in puts]
        assert box._bytes == 0

    trio.run(run)
