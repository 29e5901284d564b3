"""The --when DSL and the schedule flags."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.enums import DstFold, DstGap
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.model.schedule import (
    CronSchedule,
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    Schedule,
    WhenReadySchedule,
)
from gnomon.runtime.model.times import parse_time
from gnomon.runtime.model.when import format_when, parse_when, schedule_from_flags

NOW = datetime(2026, 4, 25, 10, 0, tzinfo=UTC)
TZ = "Europe/Paris"


def when(text: str) -> Schedule:
    return parse_when(text, now=NOW, tz=TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cron:30 2 * * *", CronSchedule(expr="30 2 * * *", tz=TZ)),
        ("30 2 * * mon-fri", CronSchedule(expr="30 2 * * mon-fri", tz=TZ)),
        ("@daily", CronSchedule(expr="@daily", tz=TZ)),
        ("@every 5m", IntervalSchedule(every=300, anchor=NOW)),
        ("every 90s", IntervalSchedule(every=90, anchor=NOW)),
        ("in 7d", OnceSchedule(at=NOW + timedelta(days=7))),
        ("after 2w", OnceSchedule(at=NOW + timedelta(weeks=2))),
        ("+90s", OnceSchedule(at=NOW + timedelta(seconds=90))),
        ("30m", OnceSchedule(at=NOW + timedelta(minutes=30))),
        ("now", OnceSchedule(at=NOW)),
        ("manual", ManualSchedule()),
        ("triggered", ManualSchedule()),
        ("when-ready", WhenReadySchedule()),
        ("on-condition", WhenReadySchedule()),
        ("at 2026-04-25T14:00", OnceSchedule(at=datetime(2026, 4, 25, 12, 0, tzinfo=UTC))),
    ],
)
def test_every_form(text: str, expected: Schedule) -> None:
    """Each docs/commands.md form parses to its schedule."""
    got = when(text)
    assert got == expected or (
        isinstance(got, OnceSchedule)
        and isinstance(expected, OnceSchedule)
        and got.at == expected.at
    )


def test_bug_16_1_18_at_without_seconds_parses() -> None:
    """`at 2026-04-25T10:00` parses (the predecessor required seconds)."""
    got = when("at 2026-04-25T10:00")
    assert isinstance(got, OnceSchedule)
    assert got.at == datetime(2026, 4, 25, 8, 0, tzinfo=UTC)


def test_bug_16_1_18_at_every_is_an_interval() -> None:
    """`@every 1m` is an interval, not a broken cron string."""
    assert when("@every 1m") == IntervalSchedule(every=60, anchor=NOW)


@pytest.mark.parametrize(
    "text", ["every", "+0s", "in -5m", "sometime", "61 * * * *", "* * * * * * *", ""]
)
def test_errors_list_the_accepted_forms(text: str) -> None:
    """Bad --when values exit with the token and the accepted forms."""
    with pytest.raises(InvalidInput) as info:
        when(text)
    message = info.value.message
    assert "accepted forms" in message
    assert "every DUR" in message or "5 fields" in message


def test_dst_policy_is_carried() -> None:
    """The schedule remembers its DST policy."""
    got = parse_when("30 1 * * *", now=NOW, tz=TZ, dst_gap=DstGap.SKIP, dst_fold=DstFold.BOTH)
    assert got == CronSchedule(expr="30 1 * * *", tz=TZ, dst_gap=DstGap.SKIP, dst_fold=DstFold.BOTH)


def test_flags_exclusive_and_default_now() -> None:
    """At most one of --when/--cron/--every/--at/--in; none means now."""
    assert schedule_from_flags(now=NOW, tz=TZ) == OnceSchedule(at=NOW)
    assert schedule_from_flags(now=NOW, tz=TZ, every="5m") == IntervalSchedule(
        every=300, anchor=NOW
    )
    assert schedule_from_flags(now=NOW, tz=TZ, cron="@hourly") == CronSchedule(
        expr="@hourly", tz=TZ
    )
    with pytest.raises(InvalidInput, match="--cron and --every"):
        schedule_from_flags(now=NOW, tz=TZ, cron="@hourly", every="5m")


def test_times_today_tomorrow_and_zones() -> None:
    """HH:MM is today or tomorrow; naive times are in the zone; unknown zones refused."""
    assert parse_time("14:00", now=NOW, tz=TZ) == datetime(2026, 4, 25, 12, 0, tzinfo=UTC)
    assert parse_time("09:00", now=NOW, tz=TZ) == datetime(2026, 4, 26, 7, 0, tzinfo=UTC)
    assert parse_time("tomorrow 09:00", now=NOW, tz=TZ) == datetime(2026, 4, 26, 7, 0, tzinfo=UTC)
    assert parse_time("2026-04-25", now=NOW, tz=TZ) == datetime(2026, 4, 24, 22, 0, tzinfo=UTC)
    assert parse_time("2026-04-25T12:00Z", now=NOW, tz=TZ) == datetime(2026, 4, 25, 12, tzinfo=UTC)
    gap = parse_time("2026-03-29T02:30", now=NOW, tz=TZ)  # Paris springs 02:00 → 03:00
    assert gap.isoformat() == "2026-03-29T03:30:00+02:00"
    with pytest.raises(InvalidInput, match="Europe/Paris"):
        parse_time("now", now=NOW, tz="Mars/Olympus")


schedules = st.one_of(
    st.sampled_from(["30 2 * * *", "*/5 * * * *", "0 0 1 * *", "@weekly", "15 14 * jan mon"]).map(
        lambda e: CronSchedule(expr=e, tz=TZ)
    ),
    st.integers(10, 10**9).map(lambda ms: IntervalSchedule(every=ms / 1000, anchor=NOW)),
    st.integers(0, 10**6).map(
        lambda s: OnceSchedule(at=(NOW + timedelta(seconds=s)).astimezone(UTC))
    ),
    st.just(ManualSchedule()),
    st.just(WhenReadySchedule()),
)


@given(schedules)
def test_format_round_trip(schedule: Schedule) -> None:
    """parse(format(s)) == s (same tz; now = the interval's anchor)."""
    back = parse_when(format_when(schedule), now=NOW, tz=TZ)
    if isinstance(schedule, OnceSchedule):
        assert isinstance(back, OnceSchedule)
        assert back.at == schedule.at
    else:
        assert back == schedule


@given(st.text(max_size=40))
def test_random_text_parses_or_raises_invalid_input(text: str) -> None:
    """No input makes the parser raise anything but InvalidInput."""
    with contextlib.suppress(InvalidInput):
        when(text)


def test_tomorrow_hh_mm_is_a_once_schedule_like_at_and_at_flag() -> None:
    """`--when 'tomorrow 09:00'` is the once-at schedule of `--at 'tomorrow 09:00'`."""
    expected = OnceSchedule(at=datetime(2026, 4, 26, 7, 0, tzinfo=UTC))
    assert when("tomorrow 09:00") == expected
    assert when("Tomorrow  09:00") == expected
    assert when("at tomorrow 09:00") == expected
    assert schedule_from_flags(now=NOW, tz=TZ, at="tomorrow 09:00") == expected
    with pytest.raises(InvalidInput, match="25:00"):
        when("tomorrow 25:00")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("every monday at 09:00", "calendar:Mon *-*-* 09:00"),
        ("every weekday at 18:30", "calendar:Mon..Fri *-*-* 18:30"),
        ("every weekend at 10:00", "calendar:Sat,Sun *-*-* 10:00"),
        ("every mon and fri at 7:30", "calendar:Mon,Fri *-*-* 7:30"),
        ("every day at 06:00", "calendar:*-*-* 06:00"),
        ("every 15 minutes", "every 15m"),
        ("every hour", "every 1h"),
        ("Mon..Fri *-*-* 09:00", "calendar:Mon..Fri *-*-* 09:00"),
        ("*:0/15", "calendar:*:0/15"),
        ("calendar:Mon 09:00; Fri 17:00", "calendar:Mon 09:00; Fri 17:00"),
        ("*/10 * * * * *", "cron:*/10 * * * * *"),
    ],
)
def test_natural_and_calendar_forms(text: str, canonical: str) -> None:
    """Natural phrases and calendar expressions map onto calendar/interval schedules, and
    the canonical text parses back to an equal schedule."""
    now = datetime(2026, 12, 4, 5, tzinfo=UTC)
    schedule = parse_when(text, now=now, tz="Europe/Paris")
    assert format_when(schedule) == canonical
    assert parse_when(canonical, now=now, tz="Europe/Paris") == schedule


def test_tomorrow_and_bare_clock() -> None:
    now = datetime(2026, 12, 4, 5, tzinfo=UTC)
    assert format_when(parse_when("tomorrow 09:00", now=now, tz="UTC")) == (
        "at 2026-12-05T09:00:00+00:00"
    )
    with pytest.raises(InvalidInput, match="'at 14:00' for once, or 'every day at 14:00'"):
        parse_when("14:00", now=now, tz="UTC")
    with pytest.raises(InvalidInput, match="takes day names"):
        parse_when("every blursday at 09:00", now=now, tz="UTC")


DAY_WORDS = ["monday", "tue", "Wednesday", "thu", "fridays", "sat", "sunday"]


@given(
    st.sets(st.integers(0, 6), min_size=1, max_size=7),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney"]),
)
def test_every_days_at_fires_on_those_days_at_that_time(
    days: set[int], hour: int, minute: int, tz: str
) -> None:
    """``every DAYS at HH:MM`` fires only on those weekdays, at that local time (DST gaps
    aside), whatever the zone."""
    now = datetime(2026, 3, 20, tzinfo=UTC)
    words = " and ".join(DAY_WORDS[d] for d in sorted(days))
    schedule = parse_when(f"every {words} at {hour}:{minute:02}", now=now, tz=tz)
    zone = ZoneInfo(tz)
    cursor = now
    for _ in range(8):
        slot = next_fire(schedule, cursor)
        assert slot is not None
        local = slot.astimezone(zone)
        assert local.weekday() in days
        shifted = local.utcoffset() != (slot - timedelta(hours=3)).astimezone(zone).utcoffset()
        assert (local.hour, local.minute) == (hour, minute) or shifted
        cursor = slot
