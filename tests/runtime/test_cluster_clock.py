"""The database clock (runtime/cluster/clock.py): a node whose own clock is 30 s fast
reads, and sleeps by, the database's time, so it fires nothing early. Virtual time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import trio

from gnomon.runtime.cluster.clock import DbClock

EPOCH = 1_800_000_000.0


def db_time() -> float:
    return EPOCH + trio.current_time()


def fast_local() -> float:
    return db_time() + 30.0  # this node's clock is 30 s ahead of the database's


async def test_a_node_30s_fast_sleeps_until_the_database_reaches_the_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = DbClock(wall=fast_local)
    assert abs(clock.now().timestamp() - db_time() - 30) < 1e-6  # no sample yet: local
    clock.sample(db_time)
    assert abs(clock.offset + 30) < 1e-6
    assert abs(clock.now().timestamp() - db_time()) < 1e-6
    slot = datetime.fromtimestamp(db_time(), UTC) + timedelta(seconds=10)
    await clock.sleep_until(slot)
    assert db_time() >= slot.timestamp()  # not one moment early by the database
    assert db_time() - slot.timestamp() < 0.01
    assert abs(clock.deadline_for(slot) - trio.current_time()) < 0.01


async def test_the_offset_follows_the_best_sample(autojump_clock: trio.testing.MockClock) -> None:
    clock = DbClock(wall=fast_local)
    now = fast_local()
    clock.observe(now, now - 30 + 0.4, now + 1.0)  # a slow reply: ±0.5 s
    clock.observe(now + 2, now + 2 - 30 + 0.001, now + 2.002)  # a fast one: ±1 ms
    assert abs(clock.offset + 30) < 0.002
