"""Exclusion calendars: named sets of dates and weekly windows in which a job's slots are
skipped (``gnomon calendar add holidays --date 2026-12-25 --window 'Fri 18:00..Mon 06:00'``,
``--exclude holidays`` on a job). Pure.

A slot is read in the calendar's own zone ``tz``: a ``--date`` covers that whole local
day, a ``--window 'DAY HH:MM..DAY HH:MM'`` every week from its start (included) to its
end (excluded), wrapping over the week's end (``Fri 18:00..Mon 06:00`` covers the
weekend). An excluded slot is recorded as a ``job.skipped`` with reason
``excluded: NAME``; it is not run later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.calendar_expr import WEEKDAYS
from gnomon.runtime.model.times import resolve_zone

WINDOW_FORMS = ("'Fri 18:00..Mon 06:00'", "'Sat 00:00..Mon 00:00'", "'Mon 12:00..Mon 13:00'")
DATE_FORMS = ("2026-12-25",)
_WINDOW = re.compile(
    r"\s*([A-Za-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*\.\.\s*([A-Za-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*"
)
_WEEK = 7 * 24 * 60


@attrs.frozen(kw_only=True)
class ExclusionCalendar:
    """A named exclusion calendar.

    Attributes:
        name: its name, as ``--exclude`` gives it.
        tz: the IANA zone its dates and windows are read in.
        dates: whole local days excluded (ISO dates).
        windows: weekly windows, as written (``Fri 18:00..Mon 06:00``).
    """

    name: str
    tz: str
    dates: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()


def _minute_of_week(day: str, hour: str, minute: str, whole: str) -> int:
    low = day.lower()
    if low not in WEEKDAYS:
        raise InvalidInput(
            f"bad --window {whole!r}: {day!r} is not a weekday", token=day, accepted=WINDOW_FORMS
        )
    h, m = int(hour), int(minute)
    if h > 24 or m > 59 or (h == 24 and m):
        raise InvalidInput(
            f"bad --window {whole!r}: {hour}:{minute} is not a time of day",
            token=f"{hour}:{minute}",
            accepted=WINDOW_FORMS,
        )
    return WEEKDAYS.index(low) * 24 * 60 + h * 60 + m


def parse_window(text: str) -> tuple[int, int]:
    """The ``(start, end)`` minutes-of-week of a window (``end`` may be below ``start``:
    the window wraps over Sunday night).

    Raises:
        InvalidInput: not ``DAY HH:MM..DAY HH:MM``, or an empty window.
    """
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise InvalidInput(
            f"bad --window {text!r}: expected 'DAY HH:MM..DAY HH:MM'",
            token=text,
            accepted=WINDOW_FORMS,
        )
    start = _minute_of_week(match[1], match[2], match[3], text)
    end = _minute_of_week(match[4], match[5], match[6], text)
    if start == end:
        raise InvalidInput(
            f"bad --window {text!r}: it starts where it ends", token=text, accepted=WINDOW_FORMS
        )
    return start, end


def parse_date(text: str) -> str:
    """The ISO form of an excluded date.

    Raises:
        InvalidInput: not ``YYYY-MM-DD``.
    """
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise InvalidInput(
            f"bad --date {text!r}: expected YYYY-MM-DD", token=text, accepted=DATE_FORMS
        ) from None


def make_calendar(
    name: str, tz: str, dates: Sequence[str], windows: Sequence[str]
) -> ExclusionCalendar:
    """A validated calendar.

    Raises:
        InvalidInput: a bad zone, date or window, or neither a date nor a window.
    """
    resolve_zone(tz)
    if not dates and not windows:
        raise InvalidInput(
            f"calendar {name!r} needs at least one --date or --window",
            token=name,
            accepted=("--date 2026-12-25", "--window 'Fri 18:00..Mon 06:00'"),
        )
    for window in windows:
        parse_window(window)
    return ExclusionCalendar(
        name=name,
        tz=tz,
        dates=tuple(sorted({parse_date(d) for d in dates})),
        windows=tuple(" ".join(w.split()) for w in windows),
    )


def covers(calendar: ExclusionCalendar, slot: datetime) -> bool:
    """Whether ``calendar`` excludes the instant ``slot`` (aware)."""
    local = slot.astimezone(resolve_zone(calendar.tz))
    if local.date().isoformat() in calendar.dates:
        return True
    minute = local.weekday() * 24 * 60 + local.hour * 60 + local.minute
    for window in calendar.windows:
        start, end = parse_window(window)
        inside = start <= minute < end if start < end else minute >= start or minute < end
        if inside:
            return True
    return False


def excluded_by(
    names: Sequence[str], calendars: Mapping[str, ExclusionCalendar], slot: datetime
) -> str | None:
    """The first of ``names`` whose calendar excludes ``slot``, or ``None``. A name with no
    calendar (removed, or not yet added) excludes nothing."""
    for name in names:
        calendar = calendars.get(name)
        if calendar is not None and covers(calendar, slot):
            return name
    return None
