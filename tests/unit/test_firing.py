"""Fire times: cron under the DST policy, intervals, one-shots, jitter.

The DST properties run over random IANA zones that observe DST, near their real
transitions (found by scanning the year), with random daily slots.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.enums import DstFold, DstGap
from gnomon.runtime.model.firing import jittered, next_fire, preview, validate_cron
from gnomon.runtime.model.schedule import (
    CronSchedule,
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    WhenReadySchedule,
)

NY = "America/New_York"


def local(dt: datetime, tz: str = NY) -> str:
    return dt.astimezone(ZoneInfo(tz)).isoformat()


def test_fall_back_day_fires_a_daily_slot_once() -> None:
    """The issue's example: 01:30 daily in New York from 2027-11-05 12:00 lists the
    fall-back day 2027-11-07 exactly once (croniter alone lists it twice)."""
    s = CronSchedule(expr="30 1 * * *", tz=NY)
    start = datetime(2027, 11, 5, 12, tzinfo=ZoneInfo(NY))
    fires = [local(d) for d in preview(s, start, 5)]
    assert fires == [
        "2027-11-06T01:30:00-04:00",
        "2027-11-07T01:30:00-04:00",
        "2027-11-08T01:30:00-05:00",
        "2027-11-09T01:30:00-05:00",
        "2027-11-10T01:30:00-05:00",
    ]


def test_fold_last_and_both() -> None:
    """fold: last fires on the second pass; fold: both on both."""
    start = datetime(2027, 11, 6, 12, tzinfo=ZoneInfo(NY))
    last = CronSchedule(expr="30 1 * * *", tz=NY, dst_fold=DstFold.LAST)
    both = CronSchedule(expr="30 1 * * *", tz=NY, dst_fold=DstFold.BOTH)
    assert local(preview(last, start, 1)[0]) == "2027-11-07T01:30:00-05:00"
    assert [local(d) for d in preview(both, start, 2)] == [
        "2027-11-07T01:30:00-04:00",
        "2027-11-07T01:30:00-05:00",
    ]


def test_spring_forward_shift_and_skip() -> None:
    """A 02:30 slot on the spring-forward day fires at 03:00 (shift) or not at all (skip)."""
    start = datetime(2027, 3, 13, 12, tzinfo=ZoneInfo(NY))
    shift = CronSchedule(expr="30 2 * * *", tz=NY)
    skip = CronSchedule(expr="30 2 * * *", tz=NY, dst_gap=DstGap.SKIP)
    assert local(preview(shift, start, 1)[0]) == "2027-03-14T03:00:00-04:00"
    assert local(preview(skip, start, 1)[0]) == "2027-03-15T02:30:00-04:00"


def test_half_hour_gap_shifts_to_its_exact_end() -> None:
    """Lord Howe moves its clocks by 30 minutes; the shift lands on the gap's real end."""
    tz = "Australia/Lord_Howe"  # 2026-10-04 02:00 → 02:30
    s = CronSchedule(expr="15 2 * * *", tz=tz)
    start = datetime(2026, 10, 3, 12, tzinfo=ZoneInfo(tz))
    assert local(preview(s, start, 1)[0], tz) == "2026-10-04T02:30:00+11:00"


def test_sub_hourly_cron_follows_elapsed_time() -> None:
    """*/30 fires in both passes of a fold and never inside a gap."""
    s = CronSchedule(expr="*/30 * * * *", tz=NY)
    fall = datetime(2027, 11, 7, 0, 10, tzinfo=ZoneInfo(NY))
    assert [local(d)[11:] for d in preview(s, fall, 6)] == [
        "00:30:00-04:00",
        "01:00:00-04:00",
        "01:30:00-04:00",
        "01:00:00-05:00",
        "01:30:00-05:00",
        "02:00:00-05:00",
    ]
    spring = datetime(2027, 3, 14, 1, 10, tzinfo=ZoneInfo(NY))
    assert [local(d)[11:16] for d in preview(s, spring, 3)] == ["01:30", "03:00", "03:30"]


def test_cron_every_5_minutes_for_an_hour() -> None:
    """*/5 from xx:59:59 gives exactly 12 fires in the next hour, at :00, :05, …"""
    s = CronSchedule(expr="*/5 * * * *", tz="UTC")
    start = datetime(2026, 11, 2, 9, 59, 59, tzinfo=UTC)
    fires = [d for d in preview(s, start, 20) if d <= start + timedelta(hours=1)]
    assert [d.minute for d in fires] == list(range(0, 60, 5))


def test_seven_is_sunday_and_aliases() -> None:
    """`7` means Sunday; every alias is accepted."""
    monday = datetime(2026, 11, 2, tzinfo=UTC)
    sunday = next_fire(CronSchedule(expr="0 9 * * 7", tz="UTC"), monday)
    assert sunday is not None
    assert sunday.weekday() == 6
    for alias in ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"]:
        validate_cron(alias)
        assert next_fire(CronSchedule(expr=alias, tz="UTC"), monday) is not None


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("* * * * * * *", "7 fields"),
        ("0 25 * * *", "hour field"),
        ("0 0 25 * * *", "hour field"),
        ("61 * * * * *", "second field"),
        ("0 0 30 2 *", "never fires"),
        ("every", "1 fields"),
    ],
)
def test_bad_cron_is_named(expr: str, says: str) -> None:
    """Bad expressions are refused naming the problem and listing the forms."""
    with pytest.raises(InvalidInput, match=says) as info:
        validate_cron(expr)
    assert "@hourly" in info.value.message


def test_interval_once_manual() -> None:
    """Intervals sit on a grid anchored at creation; one-shots fire once; manual never."""
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    every = IntervalSchedule(every=90, anchor=anchor)
    assert next_fire(every, anchor) == anchor + timedelta(seconds=90)
    assert next_fire(every, anchor + timedelta(seconds=100)) == anchor + timedelta(seconds=180)
    once = OnceSchedule(at=anchor)
    assert next_fire(once, anchor - timedelta(seconds=1)) == anchor
    assert next_fire(once, anchor) is None
    assert next_fire(ManualSchedule(), anchor) is None
    assert next_fire(WhenReadySchedule(), anchor) is None


@given(st.text(min_size=1, max_size=16), st.integers(0, 10**6), st.floats(0.001, 3600))
def test_jitter_is_deterministic_and_bounded(job: str, offset: int, jitter: float) -> None:
    """Jitter depends only on (job, slot), stays under `jitter` and before the next slot."""
    slot = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=offset)
    nxt = slot + timedelta(seconds=60)
    a = jittered(job, slot, nxt, jitter)
    assert a == jittered(job, slot, nxt, jitter)
    assert slot <= a < slot + timedelta(seconds=jitter) or a == slot
    assert a < nxt


# -- DST properties -------------------------------------------------------------------------


@cache
def dst_zones() -> list[str]:
    out = []
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "posix", "right")):
            continue
        z = ZoneInfo(name)
        jan = datetime(2026, 1, 15, tzinfo=z).utcoffset()
        jul = datetime(2026, 7, 15, tzinfo=z).utcoffset()
        if jan != jul:
            out.append(name)
    return out


@cache
def transitions(name: str, year: int) -> list[date]:
    """Local dates on which the zone's UTC offset changes."""
    z = ZoneInfo(name)
    days = []
    for n in range(366):
        d = date(year, 1, 1) + timedelta(days=n)
        a = datetime.combine(d, time(0), tzinfo=z).utcoffset()
        b = datetime.combine(d + timedelta(days=1), time(0), tzinfo=z).utcoffset()
        if a != b:
            days.append(d)
    return days


@st.composite
def near_transition(draw: st.DrawFn) -> tuple[str, date, int, int]:
    zone = draw(st.sampled_from(dst_zones()))
    year = draw(st.integers(2021, 2030))
    days = transitions(zone, year)
    day = draw(st.sampled_from(days)) if days else date(year, 6, 1)
    return zone, day, draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))


def fires_around(s: CronSchedule, day: date, tz: str) -> list[datetime]:
    z = ZoneInfo(tz)
    start = datetime.combine(day - timedelta(days=3), time(0), tzinfo=z) - timedelta(seconds=1)
    end = datetime.combine(day + timedelta(days=3), time(0), tzinfo=z)
    out, cursor = [], start
    while True:
        nxt = next_fire(s, cursor)
        assert nxt is not None
        assert nxt > cursor
        if nxt >= end:
            return out
        out.append(nxt)
        cursor = nxt


@settings(max_examples=150, deadline=None)
@given(near_transition())
def test_default_policy_fires_a_daily_slot_once_per_local_day(
    case: tuple[str, date, int, int],
) -> None:
    """Under shift/first, a daily cron fires exactly once per local calendar day around a
    transition, in random zones, always strictly increasing."""
    zone, day, hour, minute = case
    s = CronSchedule(expr=f"{minute} {hour} * * *", tz=zone)
    fires = fires_around(s, day, zone)
    per_day = Counter(f.astimezone(ZoneInfo(zone)).date() for f in fires)
    assert sorted(per_day.values()) == [1] * 6, (zone, day, hour, minute, per_day)


@settings(max_examples=100, deadline=None)
@given(near_transition())
def test_fold_both_twice_gap_skip_none_and_croniter_elsewhere(
    case: tuple[str, date, int, int],
) -> None:
    """fold: both fires twice for a slot inside the fold; gap: skip fires nothing for a
    slot inside the gap; on other days fires equal croniter's."""
    zone, day, hour, minute = case
    z = ZoneInfo(zone)
    wall = datetime.combine(day, time(hour, minute))
    both = CronSchedule(
        expr=f"{minute} {hour} * * *", tz=zone, dst_fold=DstFold.BOTH, dst_gap=DstGap.SKIP
    )
    fires = fires_around(both, day, zone)
    on_day = [f for f in fires if f.astimezone(z).date() == day]
    in_fold = (
        wall.replace(tzinfo=z, fold=0).utcoffset() != wall.replace(tzinfo=z, fold=1).utcoffset()
    )
    exists = wall.replace(tzinfo=z).astimezone(UTC).astimezone(z).replace(tzinfo=None) == wall
    if in_fold and exists:
        assert len(on_day) == 2
    elif not exists:
        assert on_day == []
    else:
        assert len(on_day) == 1
    other = [f.astimezone(z) for f in fires if f.astimezone(z).date() != day]
    assert len(other) == 5
    assert all((f.hour, f.minute) == (hour, minute) for f in other)
    naive = datetime.combine(day - timedelta(days=3), time(0)) - timedelta(seconds=1)
    it = croniter(f"{minute} {hour} * * *", naive)
    walls = [it.get_next(datetime) for _ in range(6)]
    assert [f.replace(tzinfo=None) for f in other] == [w for w in walls if w.date() != day]
