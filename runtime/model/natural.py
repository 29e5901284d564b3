"""Natural schedule phrases of the ``--when`` DSL, mapped onto calendar expressions and
durations. Pure.

* ``every monday at 09:00``, ``every mon,fri at 7:30``, ``every weekday at 18:30``,
  ``every weekend at 10:00``, ``every day at 06:00`` → a calendar expression
  (``Mon *-*-* 09:00:00``); without ``at`` the time is midnight;
* ``every 15 minutes``, ``every hour``, ``every 2 days`` → the interval ``15m``, ``1h``,
  ``2d`` (anchored at creation, like ``every 15m``).
"""

from __future__ import annotations

import re

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.calendar_expr import CALENDAR_FORMS, KEYWORDS, WEEKDAYS

CLOCK_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_DAY_NAMES = {
    **{d: d.capitalize() for d in WEEKDAYS},
    **{
        full: full[:3].capitalize()
        for full in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
    "day": "",
    "weekday": "Mon..Fri",
    "weekend": "Sat,Sun",
}
_NATURAL = re.compile(r"every\s+([a-z, ]+?)(?:\s+at\s+(\d{1,2}:\d{2}(?::\d{2})?))?", re.IGNORECASE)
_UNITS = {
    "second": "s",
    "sec": "s",
    "minute": "m",
    "min": "m",
    "hour": "h",
    "day": "d",
    "week": "w",
}
_SPOKEN = re.compile(r"(\d+(?:\.\d+)?)?\s*([a-z]+?)s?", re.IGNORECASE)


def _days(words: str) -> str | None:
    """The weekday part of ``every WORDS`` (``""`` for every day), or ``None``."""
    names: list[str] = []
    for word in re.split(r"\s*,\s*|\s+and\s+|\s+", words.strip().lower()):
        day = _DAY_NAMES.get(word) if word else None
        if day is None:
            day = _DAY_NAMES.get(word.removesuffix("s"))
        if day is None:
            return None
        names.append(day)
    if "" in names:
        return "" if len(names) == 1 else None
    return ",".join(names)


def natural_calendar(text: str) -> str | None:
    """The calendar expression of a phrase like ``every monday at 09:00``, or ``None`` when
    ``text`` is no such phrase (``every 5m`` is not one: it is an interval)."""
    match = _NATURAL.fullmatch(text.strip())
    if match is None:
        return None
    days = _days(match[1])
    if days is None:
        return None
    clock = match[2] or "00:00"
    return f"{days} *-*-* {clock}".strip()


def spoken_duration(text: str) -> str:
    """``15 minutes`` → ``15m``, ``hour`` → ``1h``; any other text unchanged."""
    match = _SPOKEN.fullmatch(text.strip())
    if match is None:
        return text
    unit = _UNITS.get(match[2].lower())
    if unit is None:
        return text
    return f"{match[1] or 1}{unit}"


def looks_like_calendar(text: str) -> bool:
    """Whether ``text`` is meant as a calendar expression (so its errors are calendar
    errors): a keyword, a weekday name first, or a ``*``, ``~``, ``..``, ``-`` or ``:``."""
    low = text.strip().lower()
    first = re.split(r"[\s,.]", low, maxsplit=1)[0]
    if low in KEYWORDS or first[:3] in WEEKDAYS:
        return True
    return any(mark in low for mark in ("*", "~", "..", ":", "-", ";"))


def split_calendars(text: str) -> tuple[str, ...]:
    """The expressions of ``EXPR; EXPR; …``.

    Raises:
        InvalidInput: no expression in ``text``.
    """
    exprs = tuple(e.strip() for e in text.split(";") if e.strip())
    if not exprs:
        raise InvalidInput(
            f"bad calendar {text!r}: no expression", token=text, accepted=CALENDAR_FORMS
        )
    return exprs
