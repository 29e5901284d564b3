"""Calendar expressions in systemd.time(7) syntax: parse and match wall-clock times. Pure.

``[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]]``, each part optional:

* weekdays: names (``Mon``, ``monday``), lists and ranges (``Mon..Fri``, ``Sat,Sun``);
* date: ``*``, numbers, lists (``1,15``), ranges (``1..7``), repetitions (``1/2``,
  ``*/2``, ``9..17/2``); ``MONTH~DAY`` counts days from the end of the month (``*-*~01``
  is the last day, ``Mon *-05~07/1`` the last Monday of May); a two-digit year is
  1970–2069; a missing date is ``*-*-*``;
* time: the same syntax per field; a missing second is ``00``, a missing time
  ``00:00:00`` (``*:0/15`` is every quarter hour);
* keywords: ``minutely hourly daily weekly monthly yearly annually quarterly
  semiannually``.

Weekdays and date must both match (not cron's either/or). Fractional seconds and a
trailing time zone are refused: a schedule's zone is its ``--tz``. Matching works on
naive wall times; :mod:`gnomon.runtime.model.firing` maps them to instants under the
schedule's DST policy.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from functools import lru_cache

import attrs

from gnomon.runtime.errors import InvalidInput

CALENDAR_FORMS = (
    "'Mon..Fri *-*-* 09:00' (weekdays, date, time)",
    "'*-*-* 09:00' or '09:00' (every day)",
    "'*:0/15' (every 15 minutes)",
    "'*-*~01' (the last day of each month), 'Mon *-05~07/1' (the last Monday of May)",
    "'Sat,Sun 10:00', '*-01,07-01 00:00', '2027-03-05 08:05:40'",
    "keywords: minutely hourly daily weekly monthly yearly quarterly semiannually",
)
KEYWORDS = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = tuple(calendar.day_name[i].lower() for i in range(7))
_FIRST_YEAR, _LAST_YEAR = 1970, 8999
_MAX_STEPS = 50_000  # loop bound of next/prev: far above any real expression's need


@attrs.frozen
class YearRule:
    """Years ``start, start+step, …`` up to ``stop`` (open-ended when ``None``)."""

    start: int
    stop: int | None
    step: int

    def holds(self, year: int) -> bool:
        """Whether ``year`` is one of the rule's."""
        top = self.stop if self.stop is not None else _LAST_YEAR
        return self.start <= year <= top and (year - self.start) % self.step == 0


@attrs.frozen
class CalendarSpec:
    """A parsed calendar expression: the values each field of a wall time may take.

    ``years`` empty means any year; ``days`` are days of the month, or days counted from
    its end (1 = the last) when ``from_end``; ``weekdays`` are 0 = Monday … 6 = Sunday.
    """

    text: str
    weekdays: frozenset[int]
    years: tuple[YearRule, ...]
    months: frozenset[int]
    days: frozenset[int]
    from_end: bool
    hours: frozenset[int]
    minutes: frozenset[int]
    seconds: frozenset[int]

    @property
    def hourly_or_finer(self) -> bool:
        """Whether it fires in every hour of a matching day (it then follows elapsed time
        across DST changes, as cron's ``*`` hour does)."""
        return len(self.hours) == 24

    def day_matches(self, year: int, month: int, day: int) -> bool:
        """Whether the date ``year-month-day`` (a valid date) matches."""
        if self.years and not any(r.holds(year) for r in self.years):
            return False
        if month not in self.months:
            return False
        last = calendar.monthrange(year, month)[1]
        if (last - day + 1 if self.from_end else day) not in self.days:
            return False
        return calendar.weekday(year, month, day) in self.weekdays

    def matches(self, wall: datetime) -> bool:
        """Whether naive wall time ``wall`` (whole seconds) matches."""
        return (
            wall.microsecond == 0
            and wall.second in self.seconds
            and wall.minute in self.minutes
            and wall.hour in self.hours
            and self.day_matches(wall.year, wall.month, wall.day)
        )


def _bad(text: str, why: str, token: str | None = None) -> InvalidInput:
    return InvalidInput(
        f"bad calendar expression {text!r}: {why}", token=token or text, accepted=CALENDAR_FORMS
    )


def _number(text: str, raw: str, lo: int, hi: int, what: str) -> int:
    if not raw.isdigit():
        if "." in raw and raw.replace(".", "").isdigit():
            raise _bad(text, f"{what} {raw!r}: fractional values are not supported", raw)
        raise _bad(text, f"{what} {raw!r} is not a number", raw)
    value = int(raw)
    if not lo <= value <= hi:
        raise _bad(text, f"{what} {raw!r} is out of range {lo}..{hi}", raw)
    return value


def _field(text: str, raw: str, lo: int, hi: int, what: str) -> frozenset[int]:
    """The values of one field: ``*``, ``A``, ``A..B``, ``A/S``, ``A..B/S``, ``*/S``, lists."""
    out: set[int] = set()
    for item in raw.split(","):
        if not item:
            raise _bad(text, f"empty item in {what} {raw!r}", raw)
        body, _, step_text = item.partition("/")
        step = _number(text, step_text, 1, hi - lo + 1, f"{what} step") if step_text else 1
        if body == "*":
            first, last = lo, hi
        elif ".." in body:
            a, _, b = body.partition("..")
            first, last = _number(text, a, lo, hi, what), _number(text, b, lo, hi, what)
            if last < first:
                raise _bad(text, f"{what} range {body!r} runs backwards", body)
        else:
            first = _number(text, body, lo, hi, what)
            last = hi if step_text else first
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _weekdays(text: str, raw: str) -> frozenset[int]:
    out: set[int] = set()
    for item in raw.split(","):
        if not item:
            continue
        a, dots, b = item.partition("..")
        first = _weekday(text, a)
        last = _weekday(text, b) if dots else first
        if last < first:
            raise _bad(text, f"weekday range {item!r} runs backwards (Mon..Sun order)", item)
        out.update(range(first, last + 1))
    if not out:
        raise _bad(text, f"no weekday in {raw!r}", raw)
    return frozenset(out)


def _weekday(text: str, raw: str) -> int:
    low = raw.lower()
    for table in (WEEKDAYS, _FULL_DAYS):
        if low in table:
            return table.index(low)
    raise _bad(text, f"{raw!r} is not a weekday (Mon Tue Wed Thu Fri Sat Sun)", raw)


def _years(text: str, raw: str) -> tuple[YearRule, ...]:
    if raw == "*":
        return ()
    rules: list[YearRule] = []
    for item in raw.split(","):
        body, _, step_text = item.partition("/")
        step = _number(text, step_text, 1, 9999, "year step") if step_text else 1
        if body == "*":
            rules.append(YearRule(_FIRST_YEAR, None, step))
            continue
        a, dots, b = body.partition("..")
        first = _year(text, a)
        stop = _year(text, b) if dots else (None if step_text else first)
        if stop is not None and stop < first:
            raise _bad(text, f"year range {body!r} runs backwards", body)
        rules.append(YearRule(first, stop, step))
    return tuple(rules)


def _year(text: str, raw: str) -> int:
    if raw.isdigit() and len(raw) <= 2:
        value = int(raw)
        return value + (2000 if value < 70 else 1900)
    return _number(text, raw, _FIRST_YEAR, _LAST_YEAR, "year")


def _split_tokens(text: str) -> tuple[str | None, list[str]]:
    """The weekday part (or ``None``) and the remaining date/time tokens."""
    tokens = text.split()
    if not tokens or not tokens[0][:1].isalpha():
        return None, tokens
    parts = [tokens.pop(0)]
    while parts[-1].endswith(",") and tokens and tokens[0][:1].isalpha():
        parts.append(tokens.pop(0))
    return "".join(parts).rstrip(","), tokens


@lru_cache(maxsize=4096)
def parse_calendar(text: str) -> CalendarSpec:
    """The :class:`CalendarSpec` of one calendar expression ``text`` (cached: stored jobs
    validate their expressions each time they are read).

    Raises:
        InvalidInput: a bad or out-of-range field (named), a zone suffix, or an
            expression that never matches a date.
    """
    raw = " ".join(text.split())
    if not raw:
        raise _bad(text, "it is empty")
    body = KEYWORDS.get(raw.lower(), raw)
    day_part, rest = _split_tokens(body)
    date_part, time_part = _date_time(text, rest)
    spec = CalendarSpec(
        raw,
        _weekdays(text, day_part) if day_part is not None else frozenset(range(7)),
        *_date(text, date_part),
        *_time(text, time_part),
    )
    if next_match(spec, datetime(_FIRST_YEAR, 1, 1) - timedelta(seconds=1)) is None:
        raise _bad(text, "it never matches (no date has every field)")
    return spec


def _date_time(text: str, rest: list[str]) -> tuple[str, str]:
    """The date and time tokens (defaults ``*-*-*`` and ``00:00:00``)."""
    for token in rest:
        if token[:1].isalpha():
            raise _bad(text, f"{token!r}: a zone suffix is not accepted; use --tz", token)
    if len(rest) > 2:
        raise _bad(text, f"{rest[2]!r}: too many parts (WEEKDAYS DATE TIME)", rest[2])
    if len(rest) == 2:
        return rest[0], rest[1]
    if rest and ":" in rest[0]:
        return "*-*-*", rest[0]
    if rest and ("-" in rest[0] or "~" in rest[0]):
        return rest[0], "00:00:00"
    if rest:
        raise _bad(text, f"cannot read {rest[0]!r} as a date (Y-M-D) or a time (H:M)", rest[0])
    return "*-*-*", "00:00:00"


def _date(text: str, raw: str) -> tuple[tuple[YearRule, ...], frozenset[int], frozenset[int], bool]:
    from_end = "~" in raw
    head, _, day = raw.rpartition("~" if from_end else "-")
    pieces = head.split("-")
    if len(pieces) > 2 or not all(pieces) or not day:
        raise _bad(text, f"cannot read {raw!r} as a date ([YEAR-]MONTH-DAY)", raw)
    year = pieces[0] if len(pieces) == 2 else "*"
    months = _field(text, pieces[-1], 1, 12, "month")
    days = _field(text, day, 1, 31, "day")
    if from_end:  # '~07/1': the 7th-last day, then every day after it
        days = _from_end(text, day)
    return _years(text, year), months, days, from_end


def _from_end(text: str, raw: str) -> frozenset[int]:
    out: set[int] = set()
    for item in raw.split(","):
        body, _, step_text = item.partition("/")
        step = _number(text, step_text, 1, 31, "day step") if step_text else 1
        if ".." in body or body == "*":
            out.update(_field(text, item, 1, 31, "day"))
            continue
        first = _number(text, body, 1, 31, "day")
        out.update(range(first, 0, -step) if step_text else (first,))
    return frozenset(out)


def _time(text: str, raw: str) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    pieces = raw.split(":")
    if len(pieces) not in (2, 3):
        raise _bad(text, f"cannot read {raw!r} as a time (HOUR:MINUTE[:SECOND])", raw)
    second = pieces[2] if len(pieces) == 3 else "00"
    return (
        _field(text, pieces[0], 0, 23, "hour"),
        _field(text, pieces[1], 0, 59, "minute"),
        _field(text, second, 0, 59, "second"),
    )


def _next_day(t: datetime) -> datetime:
    return datetime(t.year, t.month, t.day) + timedelta(days=1)


def next_match(spec: CalendarSpec, after: datetime) -> datetime | None:
    """The first wall time strictly after naive ``after`` that matches, or ``None``
    (none before year 9000)."""
    t = after.replace(microsecond=0) + timedelta(seconds=1)
    for _ in range(_MAX_STEPS):
        if t.year > _LAST_YEAR:
            return None
        if spec.years and not any(r.holds(t.year) for r in spec.years):
            t = datetime(t.year + 1, 1, 1)
        elif t.month not in spec.months:
            t = datetime(t.year + 1, 1, 1) if t.month == 12 else datetime(t.year, t.month + 1, 1)
        elif not spec.day_matches(t.year, t.month, t.day):
            t = _next_day(t)
        elif t.hour not in spec.hours:
            t = _forward(t, spec.hours, t.hour, "hour")
        elif t.minute not in spec.minutes:
            t = _forward(t, spec.minutes, t.minute, "minute")
        elif t.second not in spec.seconds:
            t = _forward(t, spec.seconds, t.second, "second")
        else:
            return t
    return None


def _forward(t: datetime, values: frozenset[int], now: int, unit: str) -> datetime:
    later = [v for v in values if v > now]
    if not later:  # roll over to the next larger unit
        if unit == "hour":
            return _next_day(t)
        base = t.replace(second=0) if unit == "second" else t.replace(minute=0, second=0)
        return base + timedelta(minutes=1 if unit == "second" else 60)
    v = min(later)
    if unit == "hour":
        return t.replace(hour=v, minute=0, second=0)
    if unit == "minute":
        return t.replace(minute=v, second=0)
    return t.replace(second=v)


def prev_match(spec: CalendarSpec, before: datetime) -> datetime | None:
    """The last wall time strictly before naive ``before`` that matches, or ``None``."""
    t = before.replace(microsecond=0)
    t = t - timedelta(seconds=1) if t == before else t
    for _ in range(_MAX_STEPS):
        if t.year < _FIRST_YEAR:
            return None
        if spec.years and not any(r.holds(t.year) for r in spec.years):
            t = datetime(t.year, 1, 1) - timedelta(seconds=1)
        elif t.month not in spec.months:
            t = datetime(t.year, t.month, 1) - timedelta(seconds=1)
        elif not spec.day_matches(t.year, t.month, t.day):
            t = datetime(t.year, t.month, t.day) - timedelta(seconds=1)
        elif t.hour not in spec.hours:
            t = _backward(t, spec.hours, t.hour, "hour")
        elif t.minute not in spec.minutes:
            t = _backward(t, spec.minutes, t.minute, "minute")
        elif t.second not in spec.seconds:
            t = _backward(t, spec.seconds, t.second, "second")
        else:
            return t
    return None


def _backward(t: datetime, values: frozenset[int], now: int, unit: str) -> datetime:
    earlier = [v for v in values if v < now]
    if not earlier:
        if unit == "hour":
            return datetime(t.year, t.month, t.day) - timedelta(seconds=1)
        if unit == "minute":
            return t.replace(minute=0, second=0) - timedelta(seconds=1)
        return t.replace(second=0) - timedelta(seconds=1)
    v = max(earlier)
    if unit == "hour":
        return t.replace(hour=v, minute=59, second=59)
    if unit == "minute":
        return t.replace(minute=v, second=59)
    return t.replace(second=v)
