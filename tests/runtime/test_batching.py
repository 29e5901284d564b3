"""The read coalescer: concurrent gets share batched reads, errors and cancellation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.runtime.batching import Coalescer


class Table:
    """A store double at the edge: a dict read in batches, recording each batch."""

    def __init__(self, rows: Mapping[str, int], *, delay: float = 1.0) -> None:
        self.rows = dict(rows)
        self.delay = delay
        self.batches: list[list[str]] = []
        self.fail_next: Exception | None = None

    async def read_many(self, keys: Sequence[str]) -> Mapping[str, int]:
        self.batches.append(list(keys))
        await trio.sleep(self.delay)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return {k: self.rows[k] for k in keys if k in self.rows}


async def gather(coalescer: Coalescer[str, int], keys: Sequence[str]) -> dict[str, int | None]:
    got: dict[str, int | None] = {}

    async def one(key: str) -> None:
        got[key] = await coalescer.get(key)

    async with trio.open_nursery() as n:
        for key in keys:
            n.start_soon(one, key)
    return got


async def test_gets_arriving_together_share_one_read(autojump_clock: trio.abc.Clock) -> None:
    """300 concurrent gets of a 500-key batch limit cost one read; absent keys get None."""
    table = Table({f"k{i}": i for i in range(300)})
    coalescer = Coalescer(table.read_many)
    keys = [f"k{i}" for i in range(300)] + ["missing"]
    got = await gather(coalescer, keys)
    assert got == {**{f"k{i}": i for i in range(300)}, "missing": None}
    assert len(table.batches) == 1


async def test_batches_are_capped_and_late_arrivals_get_the_next_read(
    autojump_clock: trio.abc.Clock,
) -> None:
    """With max_batch=10, 25 gets take 3 reads; a get arriving mid-read joins a later one."""
    table = Table({f"k{i}": i for i in range(30)})
    coalescer = Coalescer(table.read_many, max_batch=10)
    late: list[int | None] = []

    async def arrive_late() -> None:
        await trio.sleep(0.5)  # while the first read is in flight
        late.append(await coalescer.get("k29"))

    async with trio.open_nursery() as n:
        n.start_soon(arrive_late)
        got = await gather(coalescer, [f"k{i}" for i in range(25)])
    assert got == {f"k{i}": i for i in range(25)}
    assert late == [29]
    assert [len(b) for b in table.batches] == [10, 10, 6]  # k29 joins the third read


async def test_a_read_error_reaches_every_caller_of_that_batch_only(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The failing batch's callers all see the error; the next get reads again."""
    table = Table({"a": 1, "b": 2})
    table.fail_next = OSError("disk gone")
    coalescer = Coalescer(table.read_many)
    errors: list[str] = []

    async def one(key: str) -> None:
        try:
            await coalescer.get(key)
        except OSError as exc:
            errors.append(f"{key}: {exc}")

    async with trio.open_nursery() as n:
        n.start_soon(one, "a")
        n.start_soon(one, "b")
    assert sorted(errors) == ["a: disk gone", "b: disk gone"]
    assert await coalescer.get("a") == 1


async def test_cancelling_the_leader_never_strands_followers(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The caller leading a read is cancelled mid-read; the others still get values."""
    table = Table({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer(table.read_many)
    got: dict[str, int | None] = {}
    leader = trio.CancelScope()

    async def lead() -> None:
        with leader:
            got["a"] = await coalescer.get("a")

    async def follow(key: str) -> None:
        got[key] = await coalescer.get(key)

    async with trio.open_nursery() as n:
        n.start_soon(lead)
        await trio.testing.wait_all_tasks_blocked()
        n.start_soon(follow, "b")
        n.start_soon(follow, "c")
        await trio.sleep(0.5)
        leader.cancel()
    assert leader.cancelled_caught
    assert got == {"b": 2, "c": 3}
    assert await coalescer.get("a") == 1


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch must be >= 1"):
        Coalescer(Table({}).read_many, max_batch=0)


@settings(max_examples=40, deadline=None)
@given(
    keys=st.lists(st.sampled_from([f"k{i}" for i in range(40)]), max_size=120),
    max_batch=st.integers(min_value=1, max_value=50),
)
def test_every_get_gets_its_own_value(keys: list[str], max_batch: int) -> None:
    """Whatever the keys (repeats included) and the cap, each caller gets its key's row,
    and no read exceeds the cap."""
    table = Table({f"k{i}": i for i in range(0, 40, 2)})

    async def main() -> None:
        coalescer = Coalescer(table.read_many, max_batch=max_batch)
        results: list[tuple[str, int | None]] = []

        async def one(key: str) -> None:
            results.append((key, await coalescer.get(key)))

        async with trio.open_nursery() as n:
            for key in keys:
                n.start_soon(one, key)
        assert sorted(results) == sorted((k, table.rows.get(k)) for k in keys)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert all(len(b) <= max_batch for b in table.batches)
