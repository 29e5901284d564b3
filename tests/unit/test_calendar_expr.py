"""Calendar expressions (systemd.time(7) syntax): pinned expectations and properties.

The pinned next elapses were derived with ``systemd-analyze calendar --base-time='2026-12-04
10:30:00 UTC' --iterations=3 EXPR`` (systemd 252) and are kept here, so the test needs no
systemd. The properties run random expressions in random DST-observing zones.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.calendar_expr import next_match, parse_calendar, prev_match
from gnomon.runtime.model.enums import DstFold, DstGap
from gnomon.runtime.model.firing import next_fire, prev_fire
from gnomon.runtime.model.schedule import CalendarSchedule
from tests.unit.test_firing import dst_zones, near_transition

BASE = datetime(2026, 12, 4, 10, 30)
#: expression → its next three elapses after BASE (UTC), from systemd-analyze.
SYSTEMD = {
    "mon,fri *-1/2-1,3 *:30:45": [
        "2027-01-01 00:30:45",
        "2027-01-01 01:30:45",
        "2027-01-01 02:30:45",
    ],
    "Sat,Thu,Mon..Wed,Sat..Sun": [
        "2026-12-05 00:00:00",
        "2026-12-06 00:00:00",
        "2026-12-07 00:00:00",
    ],
    "Wed *-1": ["2027-09-01 00:00:00", "2027-12-01 00:00:00", "2028-03-01 00:00:00"],
    "*-*-7 0:0:0": ["2026-12-07 00:00:00", "2027-01-07 00:00:00", "2027-02-07 00:00:00"],
    "10-15": ["2027-10-15 00:00:00", "2028-10-15 00:00:00", "2029-10-15 00:00:00"],
    "monday *-12-* 17:00": ["2026-12-07 17:00:00", "2026-12-14 17:00:00", "2026-12-21 17:00:00"],
    "Mon,Fri *-*-3,1,2 *:30:45": [
        "2027-01-01 00:30:45",
        "2027-01-01 01:30:45",
        "2027-01-01 02:30:45",
    ],
    "12..14:10,20,30": ["2026-12-04 12:10:00", "2026-12-04 12:20:00", "2026-12-04 12:30:00"],
    "12,14,13,12:20,10,30": ["2026-12-04 12:10:00", "2026-12-04 12:20:00", "2026-12-04 12:30:00"],
    "03-05 08:05:40": ["2027-03-05 08:05:40", "2028-03-05 08:05:40", "2029-03-05 08:05:40"],
    "08:05:40": ["2026-12-05 08:05:40", "2026-12-06 08:05:40", "2026-12-07 08:05:40"],
    "05:40": ["2026-12-05 05:40:00", "2026-12-06 05:40:00", "2026-12-07 05:40:00"],
    "Sat,Sun 12-05 08:05:40": ["2026-12-05 08:05:40", "2027-12-05 08:05:40", "2032-12-05 08:05:40"],
    "Sat,Sun 08:05:40": ["2026-12-05 08:05:40", "2026-12-06 08:05:40", "2026-12-12 08:05:40"],
    "Wed, 17:48": ["2026-12-09 17:48:00", "2026-12-16 17:48:00", "2026-12-23 17:48:00"],
    "hourly": ["2026-12-04 11:00:00", "2026-12-04 12:00:00", "2026-12-04 13:00:00"],
    "daily": ["2026-12-05 00:00:00", "2026-12-06 00:00:00", "2026-12-07 00:00:00"],
    "monthly": ["2027-01-01 00:00:00", "2027-02-01 00:00:00", "2027-03-01 00:00:00"],
    "weekly": ["2026-12-07 00:00:00", "2026-12-14 00:00:00", "2026-12-21 00:00:00"],
    "yearly": ["2027-01-01 00:00:00", "2028-01-01 00:00:00", "2029-01-01 00:00:00"],
    "quarterly": ["2027-01-01 00:00:00", "2027-04-01 00:00:00", "2027-07-01 00:00:00"],
    "semiannually": ["2027-01-01 00:00:00", "2027-07-01 00:00:00", "2028-01-01 00:00:00"],
    "minutely": ["2026-12-04 10:31:00", "2026-12-04 10:32:00", "2026-12-04 10:33:00"],
    "*:2/3": ["2026-12-04 10:32:00", "2026-12-04 10:35:00", "2026-12-04 10:38:00"],
    "*:0/15": ["2026-12-04 10:45:00", "2026-12-04 11:00:00", "2026-12-04 11:15:00"],
    "9..17/2:00": ["2026-12-04 11:00:00", "2026-12-04 13:00:00", "2026-12-04 15:00:00"],
    "*-*-* 09:00": ["2026-12-05 09:00:00", "2026-12-06 09:00:00", "2026-12-07 09:00:00"],
    "Mon..Fri *-*-* 09:00": ["2026-12-07 09:00:00", "2026-12-08 09:00:00", "2026-12-09 09:00:00"],
    "*-*~01": ["2026-12-31 00:00:00", "2027-01-31 00:00:00", "2027-02-28 00:00:00"],
    "*-02~03": ["2027-02-26 00:00:00", "2028-02-27 00:00:00", "2029-02-26 00:00:00"],
    "Mon *-05~07/1": ["2027-05-31 00:00:00", "2028-05-29 00:00:00", "2029-05-28 00:00:00"],
    "*-*~07/1": ["2026-12-25 00:00:00", "2026-12-26 00:00:00", "2026-12-27 00:00:00"],
    "Fri *-*~07/1 18:00": ["2026-12-25 18:00:00", "2027-01-29 18:00:00", "2027-02-26 18:00:00"],
    "*-*-1/2": ["2026-12-05 00:00:00", "2026-12-07 00:00:00", "2026-12-09 00:00:00"],
}
#: systemd says "never" after BASE for these (they matched only in the past).
#: ("Wed..Sat,Tue 12-10-15 1:2:3" never matched at all: 2012-10-15 was a Monday; refused.)
NEVER_AGAIN = ["Mon,Sun 12-*-* 2,1:23", "2003-02..04-05"]


@pytest.mark.parametrize(("expr", "expected"), sorted(SYSTEMD.items()))
def test_next_elapses_match_systemd(expr: str, expected: list[str]) -> None:
    """Wall-time matching gives systemd's next elapses; in UTC the schedule does too."""
    spec = parse_calendar(expr)
    walls, cursor = [], BASE
    for _ in range(3):
        found = next_match(spec, cursor)
        assert found is not None
        walls.append(found.isoformat(sep=" "))
        cursor = found
    assert walls == expected
    schedule = CalendarSchedule(exprs=(expr,), tz="UTC")
    first = next_fire(schedule, BASE.replace(tzinfo=UTC))
    assert first is not None
    assert first.isoformat(sep=" ") == expected[0] + "+00:00"


@pytest.mark.parametrize("expr", NEVER_AGAIN)
def test_past_only_expressions_have_no_next_slot(expr: str) -> None:
    spec = parse_calendar(expr)
    assert next_match(spec, BASE) is None
    assert prev_match(spec, BASE) is not None


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("*-02-30", "never matches"),
        ("Wed..Sat,Tue 12-10-15 1:2:3", "never matches"),
        ("Mon..Fru 09:00", "'Fru' is not a weekday"),
        ("*-*-* 25:00", "hour '25' is out of range"),
        ("*-13-01", "month '13'"),
        ("*-*-* 09:00 UTC", "zone suffix"),
        ("05:40:23.42", "fractional"),
        ("Fri..Mon", "runs backwards"),
        ("*-*-* 09:00 x y", "zone suffix"),
        ("", "empty"),
    ],
)
def test_bad_expressions_name_the_token(expr: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as info:
        parse_calendar(expr)
    assert "Mon..Fri *-*-* 09:00" in info.value.message


# -- properties -----------------------------------------------------------------------------


def _field(draw: st.DrawFn, lo: int, hi: int) -> str:
    kind = draw(st.sampled_from(["*", "n", "list", "range", "step", "star-step"]))
    a = draw(st.integers(lo, hi))
    b = draw(st.integers(a, hi))
    if kind == "n":
        return str(a)
    if kind == "list":
        return ",".join(
            str(v) for v in sorted(draw(st.sets(st.integers(lo, hi), min_size=1, max_size=4)))
        )
    if kind == "range":
        return f"{a}..{b}"
    if kind == "step":
        return f"{a}/{draw(st.integers(1, 7))}"
    if kind == "star-step":
        return f"*/{draw(st.integers(1, 7))}"
    return "*"


@st.composite
def expressions(draw: st.DrawFn) -> str:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    parts = []
    if draw(st.booleans()):
        a = draw(st.integers(0, 6))
        b = draw(st.integers(a, 6))
        parts.append(days[a] if a == b else f"{days[a]}..{days[b]}")
    month = _field(draw, 1, 12)
    day = _field(draw, 1, 28)
    sep = "~" if draw(st.integers(0, 4)) == 0 else "-"
    parts.append(f"*-{month}{sep}{day}")
    parts.append(f"{_field(draw, 0, 23)}:{_field(draw, 0, 59)}:{_field(draw, 0, 59)}")
    return " ".join(parts)


def _valid(expr: str) -> bool:
    try:
        parse_calendar(expr)
    except InvalidInput:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(
    expressions().filter(_valid), st.sampled_from([*dst_zones()[::7], "UTC"]), st.integers(0, 3000)
)
def test_every_slot_matches_and_slots_increase(expr: str, tz: str, day: int) -> None:
    """For random expressions and zones: each slot's local wall time matches (or is the
    end of a gap it was shifted to), slots strictly increase, and prev_fire finds each."""
    schedule = CalendarSchedule(exprs=(expr,), tz=tz)
    spec = parse_calendar(expr)
    zone = ZoneInfo(tz)
    cursor = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=day)
    for _ in range(6):
        slot = next_fire(schedule, cursor)
        if slot is None:
            break
        assert slot > cursor
        wall = slot.astimezone(zone).replace(tzinfo=None)
        before = (slot - timedelta(hours=3)).astimezone(zone).utcoffset()
        shifted = before != slot.astimezone(zone).utcoffset()  # a gap may have moved it
        assert spec.matches(wall) or shifted, (expr, tz, slot)
        assert prev_fire(schedule, slot) == slot
        cursor = slot


@settings(max_examples=100, deadline=None)
@given(near_transition())
def test_daily_calendar_follows_dst_policy(case: tuple[str, date, int, int]) -> None:
    """A daily calendar expression under shift/first fires once per local day around a
    transition; under skip/both a gap slot fires never and a fold slot twice."""
    zone, day, hour, minute = case
    z = ZoneInfo(zone)
    expr = f"*-*-* {hour:02}:{minute:02}"
    start = datetime.combine(day - timedelta(days=2), time(0), tzinfo=z) - timedelta(seconds=1)
    end = datetime.combine(day + timedelta(days=2), time(0), tzinfo=z)

    def fires(schedule: CalendarSchedule) -> list[datetime]:
        out, cursor = [], start
        while (slot := next_fire(schedule, cursor)) is not None and slot < end:
            assert slot > cursor
            out.append(slot)
            cursor = slot
        return out

    once = fires(CalendarSchedule(exprs=(expr,), tz=zone))
    assert sorted(Counter(f.astimezone(z).date() for f in once).values()) == [1] * 4
    both = fires(
        CalendarSchedule(exprs=(expr,), tz=zone, dst_gap=DstGap.SKIP, dst_fold=DstFold.BOTH)
    )
    wall = datetime.combine(day, time(hour, minute))
    exists = wall.replace(tzinfo=z).astimezone(UTC).astimezone(z).replace(tzinfo=None) == wall
    in_fold = (
        wall.replace(tzinfo=z, fold=0).utcoffset() != wall.replace(tzinfo=z, fold=1).utcoffset()
    )
    on_day = [f for f in both if f.astimezone(z).date() == day]
    assert len(on_day) == (0 if not exists else 2 if in_fold else 1)


def test_several_expressions_fire_at_their_union() -> None:
    schedule = CalendarSchedule(exprs=("Mon 09:00", "Fri 17:00"), tz="Europe/Paris")
    cursor, out = datetime(2026, 12, 4, tzinfo=UTC), []
    for _ in range(4):
        slot = next_fire(schedule, cursor)
        assert slot is not None
        out.append(slot.astimezone(ZoneInfo("Europe/Paris")).strftime("%a %H:%M"))
        cursor = slot
    assert out == ["Fri 17:00", "Mon 09:00", "Fri 17:00", "Mon 09:00"]
