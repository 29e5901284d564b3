"""Times and zones (docs/commands.md): ``--at`` values, ``at …`` in ``--when``, ``--from``.

Accepted: ISO 8601 with or without seconds and offset (``2026-04-25T14:00``,
``2026-04-25 14:00:05+02:00``, ``…Z``), a date alone (local midnight), ``HH:MM[:SS]``
(today, or tomorrow if already passed), ``tomorrow HH:MM``, ``now``. Naive times are read
in the given zone; one that falls in a spring-forward gap moves forward by the gap's length
(02:30 on a 02:00→03:00 day is 03:30), and one that occurs twice on a fall-back day means
the first occurrence.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from gnomon.runtime.errors import InvalidInput

TIME_FORMS = (
    "2026-04-25T14:00",
    "2026-04-25 14:00:05+02:00",
    "2026-04-25T12:00Z",
    "2026-04-25",
    "14:00",
    "tomorrow 14:00",
    "now",
)
ZONE_EXAMPLES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def resolve_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``.

    Raises:
        InvalidInput: unknown zone (the message gives examples).
    """
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"unknown time zone {name!r}", token=name, accepted=(*ZONE_EXAMPLES, "…any IANA name")
        ) from None


def detect_local_zone() -> str:
    """The machine's IANA zone: ``$TZ``, ``/etc/timezone``, the ``/etc/localtime`` link
    target, else ``UTC``."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    known = available_timezones()
    return next((c for c in candidates if c and c in known), "UTC")


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """An aware datetime for wall time ``naive`` in ``zone``: gap → moved forward by the
    gap's length, fold → first occurrence (see the module docstring)."""
    first = naive.replace(tzinfo=zone, fold=0)
    return first.astimezone(UTC).astimezone(zone)


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether wall time ``naive`` occurs in ``zone`` (False inside a spring-forward gap)."""
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def is_ambiguous(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether wall time ``naive`` occurs twice in ``zone`` (inside a fall-back fold)."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and exists(naive, zone)


def parse_time(text: str, *, now: datetime, tz: str) -> datetime:
    """The aware instant ``text`` names (see the module docstring).

    Raises:
        InvalidInput: nothing of :data:`TIME_FORMS` matches.
    """
    zone = resolve_zone(tz)
    raw = " ".join(text.strip().split())
    low = raw.lower()
    if low == "now":
        return now
    if low.startswith("tomorrow "):
        clock = _clock(raw[len("tomorrow ") :], raw)
        day = now.astimezone(zone).date() + timedelta(days=1)
        return localize(datetime.combine(day, clock), zone)
    if _CLOCK.fullmatch(raw):
        clock = _clock(raw, raw)
        local_now = now.astimezone(zone)
        candidate = localize(datetime.combine(local_now.date(), clock), zone)
        if candidate <= now:
            candidate = localize(
                datetime.combine(local_now.date() + timedelta(days=1), clock), zone
            )
        return candidate
    return _iso(raw, zone)


def _clock(text: str, whole: str) -> time:
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"bad time {whole!r}", token=whole, accepted=TIME_FORMS)
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidInput(f"bad time of day {text!r}", token=text, accepted=TIME_FORMS)
    return time(hour, minute, second)


def _iso(raw: str, zone: ZoneInfo) -> datetime:
    text = raw[:-1] + "+00:00" if raw[-1:] in "zZ" and len(raw) > 10 else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"cannot read {raw!r} as a time", token=raw, accepted=TIME_FORMS
            ) from None
        return localize(datetime.combine(day, time()), zone)
    if parsed.tzinfo is None:
        return localize(parsed, zone)
    return parsed


def format_time(moment: datetime) -> str:
    """ISO 8601 with its offset (seconds always shown)."""
    return moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")
