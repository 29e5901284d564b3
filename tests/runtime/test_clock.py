"""The system clock survives wall-clock jumps; the virtual clock follows trio time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import trio

from gnomon.runtime import SystemClock, VirtualClock

EPOCH = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


async def test_virtual_clock_follows_trio_time(autojump_clock: trio.abc.Clock) -> None:
    """now() advances exactly with trio time, and sleep_until wakes exactly on time."""
    clock = VirtualClock(EPOCH)
    assert clock.now() == EPOCH
    await trio.sleep(90)
    assert clock.now() == EPOCH + timedelta(seconds=90)
    target = EPOCH + timedelta(days=3)
    await clock.sleep_until(target)
    assert clock.now() == target
    assert clock.deadline_for(target) == trio.current_time()


class SteppingWall:
    """A wall clock that follows trio time plus an offset the test can step."""

    def __init__(self) -> None:
        self.base = EPOCH.timestamp()
        self.t0 = trio.current_time()
        self.offset = 0.0

    def __call__(self) -> float:
        return self.base + (trio.current_time() - self.t0) + self.offset


@pytest.mark.parametrize(("step", "woke_at"), [(60.0, 40.0), (-50.0, 150.0)])
async def test_system_clock_rereads_wall_time_after_a_step(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, step: float, woke_at: float
) -> None:
    """An NTP step during a long sleep is noticed within one 30 s slice, either way."""
    wall = SteppingWall()
    clock = SystemClock(wall=wall)
    target = EPOCH + timedelta(seconds=100)

    async def step_at_10s() -> None:
        await trio.sleep(10)
        wall.offset += step

    nursery.start_soon(step_at_10s)
    await clock.sleep_until(target)
    assert trio.current_time() - wall.t0 == woke_at
    assert clock.now() >= target


async def test_clocks_refuse_naive_datetimes(autojump_clock: trio.abc.Clock) -> None:
    """A naive datetime is a bug upstream; both clocks say so."""
    naive = datetime(2026, 11, 1, 4, 0)
    with pytest.raises(ValueError, match="naive"):
        VirtualClock(EPOCH).deadline_for(naive)
    with pytest.raises(ValueError, match="naive"):
        await SystemClock().sleep_until(naive)
