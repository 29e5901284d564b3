"""The arithmetic next/previous slot equals the iterative definition (hypothesis), and
cron's walk backwards agrees with its walk forwards, DST transitions included."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.runtime.model.firing import (
    count_between,
    latest_slots,
    next_fire,
    prev_fire,
    slots_between,
)
from gnomon.runtime.model.schedule import CronSchedule, IntervalSchedule, OnceSchedule

ANCHORS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
EVERY = st.floats(min_value=0.01, max_value=5000.0, allow_nan=False)
CRONS = st.sampled_from(["*/5 * * * *", "30 2 * * *", "0 * * * *", "15 1,3 * * 0", "@daily"])
ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"])


def iterative_slots(schedule: IntervalSchedule, upto: int) -> list[datetime]:
    """anchor + k·every for k = 1..upto, built one by one (the definition)."""
    return [schedule.anchor + timedelta(seconds=k * schedule.every) for k in range(1, upto + 1)]


@given(ANCHORS, EVERY, st.floats(min_value=-5.0, max_value=60.0, allow_nan=False))
def test_interval_next_and_prev_equal_the_iterative_definition(
    anchor: datetime, every: float, steps: float
) -> None:
    """For a time ``steps`` intervals from the anchor: next is the first listed slot after
    it, prev the last listed slot at or before it (None before the first slot)."""
    schedule = IntervalSchedule(every=every, anchor=anchor)
    at = anchor + timedelta(seconds=steps * every)
    slots = iterative_slots(schedule, 70)
    assert next_fire(schedule, at) == next(s for s in slots if s > at)
    before = [s for s in slots if s <= at]
    assert prev_fire(schedule, at) == (before[-1] if before else None)


@given(ANCHORS, EVERY, st.integers(0, 60), st.integers(1, 12))
def test_interval_latest_slots_and_count_equal_the_iterative_definition(
    anchor: datetime, every: float, k: int, n: int
) -> None:
    """latest_slots lists the newest n listed slots at or before slot k, oldest first,
    and count_between counts the listed slots between two of them."""
    schedule = IntervalSchedule(every=every, anchor=anchor)
    slots = iterative_slots(schedule, 70)
    at = slots[k] if k else anchor
    before = [s for s in slots if s <= at]
    newest = latest_slots(schedule, at, n)
    assert newest == before[-n:]
    if len(newest) >= 2:
        listed = [s for s in slots if newest[0] <= s <= newest[-1]]
        assert count_between(schedule, newest[0], newest[-1]) == len(listed)


@given(ANCHORS, st.floats(min_value=0.01, max_value=1.0), st.floats(1e6, 3e8))
def test_interval_next_slot_far_from_the_anchor_is_one_step(
    anchor: datetime, every: float, far: float
) -> None:
    """Years after the anchor with a 10 ms–1 s interval (billions of slots), next and prev
    are adjacent slots around the time, found without walking the grid."""
    schedule = IntervalSchedule(every=every, anchor=anchor)
    at = anchor + timedelta(seconds=far)
    nxt, prev = next_fire(schedule, at), prev_fire(schedule, at)
    assert nxt is not None
    assert prev is not None
    assert prev <= at < nxt
    assert next_fire(schedule, prev) == nxt


@settings(max_examples=60, deadline=None)
@given(
    CRONS,
    ZONES,
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    st.integers(1, 8),
)
def test_cron_latest_slots_walk_back_along_next_fire(
    expr: str, tz: str, naive: datetime, n: int
) -> None:
    """The newest n cron slots at or before a time are consecutive slots of next_fire, the
    newest of them at or before the time and its successor after it."""
    schedule = CronSchedule(expr=expr, tz=tz)
    at = naive.replace(tzinfo=UTC)
    newest = latest_slots(schedule, at, n)
    assert len(newest) == n
    assert newest[-1] <= at
    assert next_fire(schedule, newest[-1]) is not None
    assert next_fire(schedule, newest[-1]) > at  # type: ignore[operator]
    for a, b in itertools.pairwise(newest):
        assert next_fire(schedule, a) == b
    assert slots_between(schedule, newest[0] - timedelta(microseconds=1), at, 100) == newest
    assert count_between(schedule, newest[0], at) is None


def test_prev_fire_of_a_one_shot_is_its_time_once_passed() -> None:
    """A one-shot schedule's previous slot is its time, once that time has come."""
    at = datetime(2026, 5, 1, tzinfo=UTC)
    schedule = OnceSchedule(at=at)
    assert prev_fire(schedule, at - timedelta(seconds=1)) is None
    assert prev_fire(schedule, at) == at


def test_next_fire_past_the_last_representable_time_is_none() -> None:
    """A slot beyond year 9999 is no slot: next_fire says None instead of overflowing."""
    schedule = IntervalSchedule(every=10 * 365 * 86_400, anchor=datetime(8999, 1, 1, tzinfo=UTC))
    assert next_fire(schedule, datetime(9995, 1, 1, tzinfo=UTC)) == datetime(9998, 5, 4, tzinfo=UTC)
    assert next_fire(schedule, datetime(9998, 6, 1, tzinfo=UTC)) is None
