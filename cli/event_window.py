"""Which events ``gnomon events`` and ``gnomon audit export`` print, journalctl-style.

``--since``/``--until`` take a *bound*: a bare integer or ``seq:N`` is an event seq
(``--since`` is exclusive — events after N, as before — and ``--until`` inclusive); a
duration (``1h``, ``30m``, ``2d``, optionally followed by ``ago``) is that long before now;
``today``/``yesterday`` are local midnights; ``HH:MM[:SS]`` is the most recent such time
(today, or yesterday if it is still ahead); anything else is a time as ``--at`` reads it
(``2026-04-25``, ``2026-04-25T14:00``, ISO 8601 with an offset). ``--tail N`` keeps the
last N matching events. The parsing is pure; :func:`query_params` turns a window into
``events.list`` parameters (``docs/protocol.md``).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.durations import parse_duration
from gnomon.runtime.model.times import TIME_FORMS, localize, parse_time, resolve_zone

BOUND_FORMS = (
    "SEQ or seq:N (an event seq)",
    "a duration ago: 1h, 30m, 2d (optionally '… ago')",
    "today, yesterday",
    "HH:MM (the most recent)",
    *TIME_FORMS[:4],
)
_SEQ = re.compile(r"(?:seq:)?(\d+)", re.IGNORECASE)
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_DURATION = re.compile(r"\d[\d.]*\s*(?:ms|[smhdw])(?:\s*\d[\d.]*\s*(?:ms|[smhdw]))*")


@attrs.frozen
class Bound:
    """One end of a window: an event seq or an instant (exactly one is set)."""

    seq: int | None = None
    at: datetime | None = None


@attrs.frozen(kw_only=True)
class Window:
    """What to print: bounds, the last ``tail`` only, one job, some types."""

    since: Bound = Bound()
    until: Bound = Bound()
    tail: int | None = None
    job: str | None = None
    types: tuple[str, ...] = ()


def parse_bound(text: str, *, now: datetime, tz: str, flag: str) -> Bound:
    """The bound ``text`` names (see the module docstring).

    Raises:
        InvalidInput: nothing matches; the message names ``flag`` and the accepted forms.
    """
    raw = " ".join(text.strip().split())
    low = raw.lower()
    seq = _SEQ.fullmatch(low)
    if seq:
        return Bound(seq=int(seq.group(1)))
    try:
        return Bound(at=_instant(raw, now=now, tz=tz))
    except InvalidInput:
        raise _bad(text, flag) from None


def _instant(raw: str, *, now: datetime, tz: str) -> datetime:
    low = raw.lower()
    zone = resolve_zone(tz)
    if low in ("today", "yesterday"):
        day = now.astimezone(zone).date() - timedelta(days=low == "yesterday")
        return localize(datetime.combine(day, time()), zone)
    span = low.removesuffix(" ago").strip()
    if _DURATION.fullmatch(span):
        return now - timedelta(seconds=parse_duration(span))
    if _CLOCK.fullmatch(low):
        at = parse_time(raw, now=now, tz=tz)
        return at - timedelta(days=1) if at > now else at
    return parse_time(raw, now=now, tz=tz)


def _bad(text: str, flag: str) -> InvalidInput:
    return InvalidInput(f"{flag}: cannot read {text!r}", token=text, accepted=BOUND_FORMS)


def make_window(
    *,
    since: str | None,
    until: str | None,
    tail: int | None,
    job: str | None = None,
    types: tuple[str, ...] = (),
    now: datetime,
    tz: str,
) -> Window:
    """A window from the flags (``None`` = not given).

    Raises:
        InvalidInput: a bound does not parse.
    """
    return Window(
        since=Bound() if since is None else parse_bound(since, now=now, tz=tz, flag="--since"),
        until=Bound() if until is None else parse_bound(until, now=now, tz=tz, flag="--until"),
        tail=tail,
        job=job,
        types=types,
    )


def query_params(window: Window, *, job_id: str | None, horizon: int | None) -> dict[str, Any]:
    """``events.list`` parameters for ``window`` (``limit`` and ``newest`` aside), never
    past seq ``horizon`` when one is given."""
    until_seq = window.until.seq
    if horizon is not None:
        until_seq = horizon if until_seq is None else min(until_seq, horizon)
    return {
        "since_seq": window.since.seq or 0,
        "since": None if window.since.at is None else window.since.at.isoformat(),
        "until": None if window.until.at is None else window.until.at.isoformat(),
        "until_seq": until_seq,
        "job": job_id,
        "types": list(window.types),
    }
