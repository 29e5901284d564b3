"""The bounds of every time value and count a job carries, in one place.

Every path that builds a job goes through the model's attrs validators, so these bounds
hold whether the job came over the gateway (structuring), from the CLI or the MCP server
(the DSL and flags), or from a stored row (:mod:`gnomon.runtime.model.stored`). They keep
the engine's arithmetic finite: with durations of at most :data:`MAX_DURATION` and times
before :data:`LATEST`, no ``time + duration`` the engine computes can overflow a
``datetime`` (year 9999). Design: ``docs/engine.md`` (Bounds).

The *configurable* floor of intervals and poll intervals (``limits.min_interval``, default
:data:`DEFAULT_MIN_INTERVAL`) is checked at admission; it can never go below
:data:`INTERVAL_FLOOR`, which the model itself enforces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from gnomon.runtime.model.durations import format_duration
from gnomon.runtime.model.wire_errors import WireValueError

YEAR = 365 * 86_400
#: The longest duration anything may last or wait: 10 years (315,360,000 s).
MAX_DURATION = 10.0 * YEAR
#: The hard floor of an interval or a poll interval; ``limits.min_interval`` cannot go under.
INTERVAL_FLOOR = 0.01
#: The default of ``limits.min_interval`` (checked at admission).
DEFAULT_MIN_INTERVAL = 1.0
#: Times (anchors, ``at``) are at or after this instant…
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: …and strictly before this one.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
TIME_RANGE = "from 1970-01-01 to before 9000-01-01"
#: The largest retry or poll count.
MAX_COUNT = 1_000_000
#: The largest backoff multiplier.
MAX_BACKOFF_MULT = 1000.0

Validator = Callable[[object, "attrs.Attribute[Any]", Any], None]


def describe(seconds: float) -> str:
    """``seconds`` for a message: ``10ms``, ``1s``, ``10 years``."""
    if seconds == MAX_DURATION:
        return "10 years"
    return format_duration(seconds)


def _shown(value: Any) -> str:
    if isinstance(value, float) and (not math.isfinite(value) or abs(value) >= 1e15):
        return repr(value)
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def out_of_range(name: str, value: Any, accepted: str, unit: str = "") -> WireValueError:
    """The error of ``name`` = ``value`` outside ``accepted`` (a range in words)."""
    shown = _shown(value)
    return WireValueError(
        f"{name} must be {accepted}, got {shown}{unit}", token=shown, accepted=(accepted,)
    )


def duration_range(*, floor: float = 0.0, open_floor: bool = False) -> str:
    """The accepted range of a duration field, in words."""
    low = f"more than {describe(floor)}" if open_floor else f"at least {describe(floor)}"
    return f"{low} and at most 10 years ({MAX_DURATION:.0f} s)"


def check_duration(
    name: str, value: float, *, floor: float = 0.0, open_floor: bool = False
) -> None:
    """Refuse a duration outside ``[floor, MAX_DURATION]`` (``(floor, …]`` when
    ``open_floor``), NaN and infinities included.

    Raises:
        WireValueError: naming ``name``, the value and the accepted range.
    """
    above = value > floor if open_floor else value >= floor
    if not (above and value <= MAX_DURATION):  # also False for NaN
        accepted = duration_range(floor=floor, open_floor=open_floor)
        raise out_of_range(name, value, accepted, unit=" s")


def duration(*, floor: float = 0.0, open_floor: bool = False) -> Validator:
    """An attrs validator for a duration in seconds (see :func:`check_duration`); ``None``
    passes (optional fields)."""

    def validate(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_duration(attribute.name, value, floor=floor, open_floor=open_floor)

    return validate


#: A positive duration (timeouts, deadlines).
positive_duration = duration(open_floor=True)
#: A duration that may be 0 (grace, backoff, ttl, jitter).
any_duration = duration()
#: An interval or a poll interval: at least :data:`INTERVAL_FLOOR`.
interval = duration(floor=INTERVAL_FLOOR)


def time(_inst: object, attribute: attrs.Attribute[Any], value: datetime) -> None:
    """An attrs validator for an aware time in ``[EARLIEST, LATEST)``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise WireValueError(
            f"{attribute.name} must carry a UTC offset, got {value.isoformat()}",
            token=value.isoformat(),
            accepted=("ISO 8601 with offset",),
        )
    if not EARLIEST <= value < LATEST:
        raise out_of_range(attribute.name, value.isoformat(), TIME_RANGE)


def count(*, high: int = MAX_COUNT) -> Validator:
    """An attrs validator for a count in ``[0, high]``."""

    def validate(_inst: object, attribute: attrs.Attribute[Any], value: int) -> None:
        if not 0 <= value <= high:
            raise out_of_range(attribute.name, value, f"from 0 to {high}")

    return validate
