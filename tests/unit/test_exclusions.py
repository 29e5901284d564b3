"""Exclusion calendars (pure): dates are whole local days in the calendar's zone, weekly
windows include their start, exclude their end and wrap over Sunday night; bad input
names the token and the accepted forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.actors.calendars import ExclusionBook
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.exclusions import covers, excluded_by, make_calendar, parse_window
from gnomon.runtime.model.fire_plan import plan_fires
from gnomon.runtime.model.schedule import CalendarSchedule

WEEKEND = make_calendar("freeze", "Europe/Paris", (), ("Fri 18:00..Mon 06:00",))
XMAS = make_calendar("holidays", "Europe/Paris", ("2026-12-25",), ())


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text + "+01:00")


def test_a_date_is_the_whole_local_day() -> None:
    assert covers(XMAS, paris("2026-12-25T00:00"))
    assert covers(XMAS, paris("2026-12-25T23:59"))
    assert not covers(XMAS, paris("2026-12-26T00:00"))
    assert covers(XMAS, datetime(2026, 12, 24, 23, 30, tzinfo=UTC))  # 00:30 in Paris


def test_a_window_wraps_over_the_week_end() -> None:
    assert not covers(WEEKEND, paris("2026-12-04T17:59"))  # Friday
    assert covers(WEEKEND, paris("2026-12-04T18:00"))
    assert covers(WEEKEND, paris("2026-12-06T12:00"))  # Sunday
    assert covers(WEEKEND, paris("2026-12-07T05:59"))  # Monday
    assert not covers(WEEKEND, paris("2026-12-07T06:00"))


@given(st.integers(0, 7 * 24 * 60 - 1))
def test_a_window_and_its_complement_cover_the_week_once(minute: int) -> None:
    monday = paris("2026-12-07T00:00")
    at = monday + timedelta(minutes=minute)
    rest = make_calendar("rest", "Europe/Paris", (), ("Mon 06:00..Fri 18:00",))
    assert covers(WEEKEND, at) != covers(rest, at)


def test_first_covering_calendar_is_named_and_unknown_names_exclude_nothing() -> None:
    cals = {"freeze": WEEKEND, "holidays": XMAS}
    xmas_friday_evening = paris("2026-12-25T19:00")
    assert excluded_by(("holidays", "freeze"), cals, xmas_friday_evening) == "holidays"
    assert excluded_by(("gone", "freeze"), cals, xmas_friday_evening) == "freeze"
    assert excluded_by(("gone",), cals, xmas_friday_evening) is None


@pytest.mark.parametrize(
    ("dates", "windows", "says"),
    [
        ((), ("Fri 18:00-Mon 06:00",), "expected 'DAY HH:MM..DAY HH:MM'"),
        ((), ("Fry 18:00..Mon 06:00",), "'Fry' is not a weekday"),
        ((), ("Fri 25:00..Mon 06:00",), "25:00 is not a time of day"),
        ((), ("Mon 06:00..Mon 06:00",), "starts where it ends"),
        (("2026-13-01",), (), "expected YYYY-MM-DD"),
        ((), (), "at least one --date or --window"),
    ],
)
def test_bad_calendars_name_the_token(
    dates: tuple[str, ...], windows: tuple[str, ...], says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        make_calendar("x", "UTC", dates, windows)


def test_the_book_round_trips_through_its_stored_form() -> None:
    book = ExclusionBook([WEEKEND, XMAS])
    again = ExclusionBook.load(book.dump())
    assert again.calendars == book.calendars
    assert ExclusionBook.load(None).calendars == {}
    assert parse_window("sat 00:00..mon 00:00") == (5 * 1440, 0)


def test_plan_marks_excluded_slots_and_applies_jitter_within_the_window() -> None:
    schedule = CalendarSchedule(exprs=("Mon..Fri *-*-* 09:00",), tz="Europe/Paris", jitter=600)
    plan = plan_fires(
        "standup", schedule, paris("2026-12-24T00:00"), 4, exclude=("holidays",),
        calendars={"holidays": XMAS},
    )  # fmt: skip
    assert [p.excluded for p in plan] == [None, "holidays", None, None]
    for p in plan:
        assert timedelta(0) <= p.fires_at - p.slot < timedelta(minutes=10)
    again = plan_fires("standup", schedule, paris("2026-12-24T00:00"), 4)
    assert [p.fires_at for p in again] == [p.fires_at for p in plan]  # deterministic
