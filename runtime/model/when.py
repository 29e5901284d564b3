"""The ``--when`` DSL (docs/commands.md) and the ``--cron/--every/--at/--in`` flags.

Relative forms are resolved against ``now`` when parsed and naive times in ``tz``, so a
stored schedule means the same thing whenever it is read. ``format_when`` writes the
canonical DSL back: parsing it again (same ``tz``; ``now`` = an interval's anchor) gives
an equal schedule.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import bounds
from gnomon.runtime.model.durations import format_duration, parse_duration
from gnomon.runtime.model.enums import DstFold, DstGap
from gnomon.runtime.model.firing import ALIASES, validate_cron
from gnomon.runtime.model.natural import (
    CLOCK_ONLY,
    looks_like_calendar,
    natural_calendar,
    split_calendars,
    spoken_duration,
)
from gnomon.runtime.model.schedule import (
    CalendarSchedule,
    CronSchedule,
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    Schedule,
    WhenReadySchedule,
)
from gnomon.runtime.model.times import format_time, parse_time, resolve_zone
from gnomon.runtime.model.wire_errors import WireValueError

WHEN_FORMS = (
    "cron:EXPR or a 5-field cron expression ('30 2 * * *'), 6 with seconds first",
    "calendar:EXPR[; EXPR…] or a calendar expression ('Mon..Fri *-*-* 09:00', '*:0/15')",
    "every monday at 09:00 / every weekday at 18:30 / every day at 07:00",
    "every 15 minutes / every hour",
    "@hourly @daily @midnight @weekly @monthly @yearly @annually",
    "every DUR / @every DUR ('every 5m')",
    "in DUR / after DUR / +DUR / DUR ('in 7d', '+90s', '30m')",
    "at TIME ('at 2026-04-25T14:00', 'at 14:00', 'at tomorrow 09:00')",
    "tomorrow HH:MM ('tomorrow 09:00', the same as 'at tomorrow 09:00')",
    "now",
    "manual / triggered",
    "when-ready / on-condition",
)
_CRON_FIELD = re.compile(r"[*/,0-9A-Za-z?#-]+")


def _bad(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"bad --when {text!r}: {why}", token=text, accepted=WHEN_FORMS)


def _out_of_bounds(text: str, exc: ValueError) -> InvalidInput:
    accepted = exc.accepted if isinstance(exc, WireValueError) else WHEN_FORMS
    return InvalidInput(f"bad --when {text!r}: {exc}", token=text, accepted=accepted)


def _positive(text: str, duration: str, *, floor: float = 0.0) -> float:
    try:
        seconds = parse_duration(duration)
    except InvalidInput as exc:
        raise _bad(text, exc.message.split(";")[0]) from None
    if seconds <= 0:
        raise _bad(text, "the duration must be more than 0")
    try:
        bounds.check_duration("the duration", seconds, floor=floor)
    except ValueError as exc:
        raise _out_of_bounds(text, exc) from None
    return seconds


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: str,
    dst_gap: DstGap = DstGap.SHIFT,
    dst_fold: DstFold = DstFold.FIRST,
) -> Schedule:
    """The schedule ``text`` describes.

    Raises:
        InvalidInput: no form of :data:`WHEN_FORMS` matches (they are listed), or a value
            is out of its bounds (:mod:`~gnomon.runtime.model.bounds`).
    """
    try:
        return _parse_when(text, now=now, tz=tz, dst_gap=dst_gap, dst_fold=dst_fold)
    except InvalidInput:
        raise
    except ValueError as exc:  # a schedule field out of bounds (e.g. a time past 9000)
        raise _out_of_bounds(text, exc) from None


def _parse_when(
    text: str, *, now: datetime, tz: str, dst_gap: DstGap, dst_fold: DstFold
) -> Schedule:
    resolve_zone(tz)
    raw = " ".join(text.strip().split())
    low = raw.lower()
    if not raw:
        raise _bad(text, "it is empty")
    if low in ("now",):
        return OnceSchedule(at=now)
    if low in ("manual", "triggered"):
        return ManualSchedule()
    if low in ("when-ready", "on-condition", "oncondition", "when_ready"):
        return WhenReadySchedule()
    zoned: dict[str, Any] = {"tz": tz, "dst_gap": dst_gap, "dst_fold": dst_fold}
    natural = natural_calendar(raw)
    if natural is not None:
        return CalendarSchedule(exprs=(natural,), **zoned)
    for prefix in ("@every ", "every "):
        if low.startswith(prefix):
            duration = spoken_duration(raw[len(prefix) :])
            if " at " in f" {low} ":
                raise _bad(
                    text,
                    f"{raw[len(prefix) :]!r}: 'every DAYS at HH:MM' takes day names "
                    "and a time HH:MM",
                )
            every = _positive(raw, duration, floor=bounds.INTERVAL_FLOOR)
            return IntervalSchedule(every=every, anchor=now)
    if low in ("every", "@every"):
        raise _bad(text, "'every' needs a duration, e.g. 'every 5m'")
    for prefix in ("in ", "after ", "+"):
        if low.startswith(prefix):
            delay = _positive(raw, raw[len(prefix) :])
            return OnceSchedule(at=now + timedelta(seconds=delay))
    if low.startswith("at "):
        return OnceSchedule(at=parse_time(raw[3:], now=now, tz=tz))
    if low.startswith("tomorrow "):
        return OnceSchedule(at=parse_time(raw, now=now, tz=tz))
    if low.startswith("calendar:"):
        return CalendarSchedule(exprs=split_calendars(raw[9:]), **zoned)
    cron = _cron_text(raw)
    if cron is not None:
        validate_cron(cron)
        return CronSchedule(expr=cron, tz=tz, dst_gap=dst_gap, dst_fold=dst_fold)
    try:
        parse_duration(raw)
    except InvalidInput:
        return _calendar_or_bad(text, raw, zoned)
    return OnceSchedule(at=now + timedelta(seconds=_positive(raw, raw)))


def _calendar_or_bad(text: str, raw: str, zoned: dict[str, Any]) -> Schedule:
    """A bare calendar expression, or the error of a text that is no schedule at all."""
    if CLOCK_ONLY.fullmatch(raw):
        raise _bad(
            text,
            f"say 'at {raw}' for once, or 'every day at {raw}' (or 'calendar:{raw}') for daily",
        )
    if not looks_like_calendar(raw):
        raise _bad(text, "not a schedule")
    return CalendarSchedule(exprs=split_calendars(raw), **zoned)


def _cron_text(raw: str) -> str | None:
    if raw.lower().startswith("cron:"):
        return raw[5:].strip()
    if raw.startswith("@"):
        return raw.lower() if raw.lower() in ALIASES else raw
    fields = raw.split(" ")
    if len(fields) in (5, 6, 7) and all(_CRON_FIELD.fullmatch(f) for f in fields):
        return raw
    return None


def format_when(schedule: Schedule) -> str:
    """The canonical ``--when`` text of ``schedule`` (see the module docstring)."""
    if isinstance(schedule, CalendarSchedule):
        return "calendar:" + "; ".join(schedule.exprs)
    if isinstance(schedule, CronSchedule):
        return schedule.expr if schedule.expr.startswith("@") else f"cron:{schedule.expr}"
    if isinstance(schedule, IntervalSchedule):
        return f"every {format_duration(schedule.every)}"
    if isinstance(schedule, OnceSchedule):
        return f"at {format_time(schedule.at)}"
    if isinstance(schedule, ManualSchedule):
        return "manual"
    return "when-ready"


def schedule_from_flags(
    *,
    now: datetime,
    tz: str,
    when: str | None = None,
    cron: str | None = None,
    every: str | None = None,
    at: str | None = None,
    in_: str | None = None,
    calendar: tuple[str, ...] = (),
    dst_gap: DstGap = DstGap.SHIFT,
    dst_fold: DstFold = DstFold.FIRST,
) -> Schedule:
    """The schedule of ``gnomon schedule``'s flags: at most one of ``--when --cron --every
    --at --in --calendar`` (``--when now`` when none is given; ``--calendar`` may be
    repeated, the schedule firing at the union of its expressions).

    Raises:
        InvalidInput: two of them are given, or the value is bad.
    """
    given = {
        name: value
        for name, value in (
            ("--when", when),
            ("--cron", cron),
            ("--every", every),
            ("--at", at),
            ("--in", in_),
            ("--calendar", "; ".join(calendar) or None),
        )
        if value is not None
    }
    if len(given) > 1:
        names = " and ".join(given)
        raise InvalidInput(
            f"{names} both say when; give one of --when, --cron, --every, --at, --in, --calendar",
            token=names,
            accepted=(
                "--when DSL",
                "--cron EXPR",
                "--every DUR",
                "--at TIME",
                "--in DUR",
                "--calendar EXPR",
            ),
        )
    text = {
        "--when": when,
        "--cron": f"cron:{cron}",
        "--every": f"every {every}",
        "--at": f"at {at}",
        "--in": f"in {in_}",
        "--calendar": "calendar:" + "; ".join(calendar),
    }[next(iter(given), "--when")] or "now"
    return parse_when(text, now=now, tz=tz, dst_gap=dst_gap, dst_fold=dst_fold)
