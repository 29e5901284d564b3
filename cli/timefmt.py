"""Times for people: relative ages (``in 5h12m``, ``3m ago``), short local times
(``16:08``, ``tomorrow 09:00``, ``Dec 03 16:08``) and the same treatment for ISO 8601
timestamps embedded in the daemon's texts (schedules, reasons, messages).

Everything here is pure: ``now`` is passed in, the local zone is the process's (``TZ``).
The wire keeps ISO 8601 (``--json`` is unchanged); only human output goes through here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

#: An ISO 8601 timestamp as the daemon writes them (seconds and fraction optional).
ISO_IN_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the wire, or ``None``."""
    if not value:
        return None
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


_UNITS = (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def short_duration(seconds: float) -> str:
    """The two largest non-zero units of a duration in whole seconds (``5h12m``, ``3d4h``,
    ``1h5s``, ``42s``; at least ``1s``)."""
    left, parts = int(seconds) or 1, []
    for unit, size in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
            if len(parts) == 2:
                break
    return "".join(parts)


def relative(when: datetime, now: datetime) -> str:
    """``in 5h12m`` / ``3m ago`` / ``now`` (whole seconds)."""
    delta = (when - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    text = short_duration(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def short_local(when: datetime, now: datetime) -> str:
    """A compact local time: ``16:08:35`` today, ``tomorrow 09:00``/``yesterday 17:30``,
    ``Dec 03 16:08`` this year, else ``2027-01-05 16:08``."""
    local, today = when.astimezone(), now.astimezone().date()
    clock = local.strftime("%H:%M:%S" if local.second else "%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return clock
    if days in (1, -1):
        return f"{'tomorrow' if days == 1 else 'yesterday'} {local.strftime('%H:%M')}"
    if local.year == today.year:
        return local.strftime("%b %d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def ago(value: str | None, now: datetime | None = None) -> str:
    """A wire timestamp as a relative age (``3m ago``, ``in 5h``); ``—`` when absent."""
    when = parse_iso(value)
    return "—" if when is None else relative(when, now or datetime.now(UTC))


def when_text(value: str | None, now: datetime | None = None) -> str:
    """A wire timestamp as a short local time and its age (``16:08 (in 5m)``)."""
    when = parse_iso(value)
    if when is None:
        return "—"
    now = now or datetime.now(UTC)
    return f"{short_local(when, now)} ({relative(when, now)})"


def local_time(value: str | None, now: datetime | None = None, *, rel: bool = True) -> str:
    """A wire timestamp in full in the local zone (``2026-11-25 14:00:00 CET (in 5h)``),
    for detail pages."""
    when = parse_iso(value)
    if when is None:
        return "—"
    text = when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    if not rel:
        return text
    return f"{text} ({relative(when, now or datetime.now(UTC))})"


def humanize(text: str, now: datetime | None = None) -> str:
    """``text`` with each ISO 8601 timestamp in it written as a short local time
    (``at 2026-12-03T16:08:35+00:00`` → ``at 16:08:35``); anything unreadable is kept."""
    now = now or datetime.now(UTC)

    def one(match: re.Match[str]) -> str:
        try:
            when = parse_iso(match.group(0).replace(" ", "T"))
        except ValueError:
            return match.group(0)
        if when is None or when.tzinfo is None:
            return match.group(0)
        return short_local(when, now)

    return ISO_IN_TEXT.sub(one, text)
