"""Schedule types: *when* a job fires (docs/commands.md).

Relative forms (``in 5m``, ``+90s``, ``now``) are resolved to absolute times when the DSL
is parsed, and naive times are resolved in the schedule's zone, so a stored schedule never
depends on when or where it is read. Computing fire times lives in
:mod:`gnomon.runtime.model.firing`; the DSL in :mod:`gnomon.runtime.model.when`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from gnomon.runtime.model import bounds
from gnomon.runtime.model.calendar_expr import parse_calendar
from gnomon.runtime.model.enums import DstFold, DstGap


@attrs.frozen(kw_only=True)
class CronSchedule:
    """Fires at each minute matching a 5-field cron expression in zone ``tz``.

    Attributes:
        expr: the expression as the user wrote it after alias expansion is *not* applied
            (``@daily`` stays ``@daily``); validated when parsed.
        tz: IANA zone name the expression is read in (resolved at creation).
        dst_gap: a slot inside a spring-forward gap is shifted past the gap or skipped.
        dst_fold: a slot inside a fall-back fold runs on the first, last or both passes.
        jitter: up to this many seconds of deterministic per-job delay, never past the
            next slot.
    """

    TAG: ClassVar[str] = "cron"
    expr: str
    tz: str
    dst_gap: DstGap = DstGap.SHIFT
    dst_fold: DstFold = DstFold.FIRST
    jitter: float = attrs.field(default=0.0, validator=bounds.any_duration)


def _calendar_exprs(_inst: object, _attribute: object, value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError("a calendar schedule needs at least one expression")
    for expr in value:
        parse_calendar(expr)


@attrs.frozen(kw_only=True)
class CalendarSchedule:
    """Fires at each wall time matching any of ``exprs``, calendar expressions in
    systemd.time(7) syntax (:mod:`~gnomon.runtime.model.calendar_expr`), in zone ``tz``,
    under the same DST policy as cron.

    Attributes:
        exprs: the expressions as written (validated on construction).
        tz, dst_gap, dst_fold, jitter: as for :class:`CronSchedule`.
    """

    TAG: ClassVar[str] = "calendar"
    exprs: tuple[str, ...] = attrs.field(validator=_calendar_exprs)
    tz: str
    dst_gap: DstGap = DstGap.SHIFT
    dst_fold: DstFold = DstFold.FIRST
    jitter: float = attrs.field(default=0.0, validator=bounds.any_duration)


@attrs.frozen(kw_only=True)
class IntervalSchedule:
    """Fires every ``every`` seconds on a grid anchored at ``anchor``: anchor + n·every, n ≥ 1."""

    TAG: ClassVar[str] = "interval"
    every: float = attrs.field(validator=bounds.interval)
    anchor: datetime = attrs.field(validator=bounds.time)
    jitter: float = attrs.field(default=0.0, validator=bounds.any_duration)


@attrs.frozen(kw_only=True)
class OnceSchedule:
    """Fires once at ``at``."""

    TAG: ClassVar[str] = "once"
    at: datetime = attrs.field(validator=bounds.time)


@attrs.frozen(kw_only=True)
class ManualSchedule:
    """Never fires by itself: only ``jobs run``, a trigger or an agent fire it."""

    TAG: ClassVar[str] = "manual"


@attrs.frozen(kw_only=True)
class WhenReadySchedule:
    """Fires as soon as the job's wait condition holds (one fire)."""

    TAG: ClassVar[str] = "when_ready"


Schedule = (
    CronSchedule
    | CalendarSchedule
    | IntervalSchedule
    | OnceSchedule
    | ManualSchedule
    | WhenReadySchedule
)
ZonedSchedule = CronSchedule | CalendarSchedule
SCHEDULE_TYPES: tuple[type, ...] = (
    CronSchedule,
    CalendarSchedule,
    IntervalSchedule,
    OnceSchedule,
    ManualSchedule,
    WhenReadySchedule,
)


def is_recurring(schedule: Schedule) -> bool:
    """True for schedules with more than one slot (cron, calendar and interval)."""
    return isinstance(schedule, CronSchedule | CalendarSchedule | IntervalSchedule)


def with_jitter(schedule: Schedule, jitter: float) -> Schedule:
    """``schedule`` with its fire jitter set (only recurring schedules have one).

    Raises:
        ValueError: ``jitter`` on a schedule that is not recurring.
    """
    if not jitter:
        return schedule
    if not isinstance(schedule, CronSchedule | CalendarSchedule | IntervalSchedule):
        raise ValueError("--jitter applies to recurring schedules (cron, calendar, every)")
    return attrs.evolve(schedule, jitter=jitter)
