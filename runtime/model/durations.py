"""Durations: ``500ms``, ``90s``, ``5m``, ``1h30m``, ``7d``, ``2w``, or a bare number of
seconds (docs/commands.md). Values are float seconds; parsing is exact to the millisecond.

The predecessor rejected ``1d``/``7d`` (Go durations stop at hours, docs/lessons.md item 16);
here every unit up to weeks works, in any combination, each unit at most once.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from gnomon.runtime.errors import InvalidInput

DURATION_FORMS = ("500ms", "90s", "5m", "1h30m", "7d", "2w", "a number of seconds (e.g. 30, 1.5)")
_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_ORDER = ("w", "d", "h", "m", "s", "ms")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _bad(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"bad duration {text!r}: {why}", token=text, accepted=DURATION_FORMS)


def parse_duration(text: str) -> float:
    """Seconds in ``text``.

    Raises:
        InvalidInput: empty, negative, an unknown unit, a repeated unit, or junk.
    """
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise _bad(text, "it is empty")
    if raw.startswith("-"):
        raise _bad(text, "durations cannot be negative")
    if _NUMBER.fullmatch(raw):
        return _to_seconds(Decimal(raw) * 1000, text)
    total, pos, seen = Decimal(0), 0, set()
    for match in _PART.finditer(raw):
        if match.start() != pos:
            raise _bad(text, f"cannot read {raw[pos : match.start()]!r}")
        unit = match.group(2)
        if unit in seen:
            raise _bad(text, f"unit {unit!r} appears twice")
        seen.add(unit)
        total += Decimal(match.group(1)) * _MS[unit]
        pos = match.end()
    if pos != len(raw) or not seen:
        raise _bad(text, f"cannot read {raw[pos:]!r} (units: ms s m h d w)")
    return _to_seconds(total, text)


def _to_seconds(millis: Decimal, text: str) -> float:
    try:
        whole = millis.to_integral_value()
    except InvalidOperation:
        raise _bad(text, "it is too large") from None
    if whole != millis:
        raise _bad(text, "the smallest unit is one millisecond")
    if whole > 10**15:
        raise _bad(text, "it is too large")
    return int(whole) / 1000


def format_duration(seconds: float) -> str:
    """The canonical compact form: ``1h30m``, ``500ms``, ``7d``, ``2w``, ``0s``.

    ``parse_duration(format_duration(x)) == x`` for every non-negative ``x`` given to the
    millisecond.
    """
    if seconds < 0:
        raise ValueError(f"negative duration {seconds!r}")
    left = round(seconds * 1000)
    if left == 0:
        return "0s"
    parts = []
    for unit in _ORDER:
        count, left = divmod(left, _MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_in(seconds: float) -> str:
    """A human delay: ``in 5h12m``, ``in 40s``, ``5m ago``, ``now`` (two units at most)."""
    whole = int(abs(seconds))
    if whole == 0:
        return "now"
    counts = []
    for unit in _ORDER[:-1]:
        count, whole = divmod(whole, _MS[unit] // 1000)
        counts.append((count, unit))
    first = next(i for i, (count, _) in enumerate(counts) if count)
    shown = [f"{c}{u}" for c, u in counts[first : first + 2] if c]
    text = "".join(shown)
    return f"in {text}" if seconds > 0 else f"{text} ago"
