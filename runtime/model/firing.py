"""When schedules fire: ``next_fire(schedule, after)`` and friends. Pure.

**Cron and daylight saving time.** croniter alone fires a daily ``30 1 * * *`` twice on a
fall-back day and silently moves ``30 2 * * *`` on a spring-forward day (docs/engine.md).
Here cron is matched against local *wall-clock* times (naive), and each matching wall time
is then mapped to instants under the schedule's DST policy:

* a wall time inside a spring-forward **gap** does not exist: ``gap: shift`` (default)
  fires at the first instant after the gap (03:00 on a 02:00→03:00 day, what cronie does);
  ``gap: skip`` fires nothing for it;
* a wall time inside a fall-back **fold** exists twice: ``fold: first`` (default) fires on
  the first pass, ``last`` on the second, ``both`` on both.

Expressions whose hour field is ``*`` fire every hour, so they follow **elapsed time**
instead of the policy: in a fold both passes fire (``*/30 * * * *`` fires at 01:00 and
01:30 twice), in a gap nothing does. Under the default policy every other expression fires
at most once per matching local wall time — a daily job exactly once per calendar day.

Standard 5-field expressions (names, ranges, steps, ``7`` = Sunday, the ``@hourly
@daily @midnight @weekly @monthly @yearly @annually`` aliases, and croniter's ``L``/``#``
extensions) are accepted, and a 6-field form whose *first* field is the second
(``*/10 * * * * *``, as in Quartz and Spring); an expression that never fires is refused.

Calendar expressions (:class:`CalendarSchedule`, systemd.time(7) syntax) are matched the
same way: their wall times come from :mod:`~gnomon.runtime.model.calendar_expr`, and an
expression whose hours are all 24 follows elapsed time, like cron's ``*`` hour. A
schedule with several expressions fires at the union of their slots.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.calendar_expr import CalendarSpec, next_match, parse_calendar, prev_match
from gnomon.runtime.model.enums import DstFold, DstGap
from gnomon.runtime.model.schedule import (
    CalendarSchedule,
    CronSchedule,
    IntervalSchedule,
    OnceSchedule,
    Schedule,
    ZonedSchedule,
)
from gnomon.runtime.model.times import exists, is_ambiguous, resolve_zone

CRON_FORMS = (
    "5 fields: minute hour day-of-month month day-of-week (e.g. '30 2 * * mon-fri')",
    "6 fields: second first, then the five (e.g. '*/10 * * * * *')",
    "@hourly",
    "@daily",
    "@midnight",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
)
ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_WINDOW = timedelta(hours=4)  # larger than any UTC offset change
_MAX_SCAN = 100_000
WallFn = Callable[[datetime], Iterator[datetime]]
Walls = tuple[WallFn, bool]


def expand(expr: str) -> str:
    """The 5-field form of ``expr`` (aliases expanded, whitespace normalised)."""
    text = " ".join(expr.split())
    return ALIASES.get(text.lower(), text)


def validate_cron(expr: str) -> None:
    """Check a cron expression.

    Raises:
        InvalidInput: not 5 fields, a bad field (named), or it never fires.
    """
    text = expand(expr)
    fields = text.split(" ")
    if len(fields) not in (5, 6):
        raise InvalidInput(
            f"cron expression {expr!r} has {len(fields)} fields, not 5 "
            "(or 6 with a leading seconds field; @every is written --every DUR)",
            token=expr,
            accepted=CRON_FORMS,
        )
    try:
        it = croniter(text, datetime(2000, 1, 1), second_at_beginning=True)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise InvalidInput(
            f"bad cron expression {expr!r}: {_which_field(fields)}{exc}",
            token=expr,
            accepted=CRON_FORMS,
        ) from None
    try:
        it.get_next(datetime)
    except CroniterBadDateError:
        raise InvalidInput(
            f"cron expression {expr!r} never fires (no date matches every field)",
            token=expr,
            accepted=CRON_FORMS,
        ) from None


def _which_field(fields: list[str]) -> str:
    names = _FIELDS if len(fields) == 5 else ("second", *_FIELDS)
    for index, (name, field) in enumerate(zip(names, fields, strict=True)):
        probe = ["*"] * len(fields)
        probe[index] = field
        try:
            croniter(" ".join(probe), datetime(2000, 1, 1), second_at_beginning=True)
        except (CroniterBadCronError, ValueError, KeyError):
            return f"{name} field {field!r}: "
    return ""


def _hourly_or_finer(expr: str) -> bool:
    fields = expand(expr).split(" ")
    return fields[len(fields) - 4] == "*"


def _instants(naive: datetime, zone: ZoneInfo, gap: DstGap, fold: DstFold) -> list[datetime]:
    """The instants at which wall time ``naive`` fires under the policy."""
    if not exists(naive, zone):
        return [] if gap is DstGap.SKIP else [_gap_end(naive, zone)]
    if is_ambiguous(naive, zone):
        both = [naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)]
        return {DstFold.FIRST: both[:1], DstFold.LAST: both[1:], DstFold.BOTH: both}[fold]
    return [naive.replace(tzinfo=zone).astimezone(UTC)]


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the gap that swallows wall time ``naive`` (exact to the
    second, whatever the gap's size)."""
    a = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    b = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    lo, hi = min(a, b), max(a, b)  # wall(lo) is before the gap, wall(hi) after it
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) > naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def _offset_stable(zone: ZoneInfo, around: datetime) -> bool:
    before = (around - _WINDOW).astimezone(zone).utcoffset()
    return before == (around + _WINDOW).astimezone(zone).utcoffset()


def _wall_times(expr: str, start: datetime) -> Iterator[datetime]:
    it = croniter(expand(expr), start, second_at_beginning=True)
    for _ in range(_MAX_SCAN):
        try:
            yield it.get_next(datetime)
        except CroniterBadDateError:
            return


def _calendar_walls(spec: CalendarSpec, start: datetime, back: bool) -> Iterator[datetime]:
    step = prev_match if back else next_match
    wall = start
    for _ in range(_MAX_SCAN):
        found = step(spec, wall)
        if found is None:
            return
        yield found
        wall = found


def _walls(schedule: ZonedSchedule, back: bool) -> list[Walls]:
    """One wall-time iterator factory per expression, with its elapsed-time flag."""
    if isinstance(schedule, CronSchedule):
        cron = _wall_times_back if back else _wall_times
        return [(partial(cron, schedule.expr), _hourly_or_finer(schedule.expr))]
    specs = [parse_calendar(text) for text in schedule.exprs]
    return [(partial(_calendar_walls, spec, back=back), spec.hourly_or_finer) for spec in specs]


def _zoned_next(schedule: ZonedSchedule, after: datetime) -> datetime | None:
    found = [_one_next(schedule, walls, flag, after) for walls, flag in _walls(schedule, False)]
    return min((f for f in found if f is not None), default=None)


def _zoned_prev(schedule: ZonedSchedule, at: datetime) -> datetime | None:
    found = [_one_prev(schedule, walls, flag, at) for walls, flag in _walls(schedule, True)]
    return max((f for f in found if f is not None), default=None)


def _policy(schedule: ZonedSchedule, elapsed: bool) -> tuple[DstGap, DstFold]:
    return (DstGap.SKIP, DstFold.BOTH) if elapsed else (schedule.dst_gap, schedule.dst_fold)


def _one_next(
    schedule: ZonedSchedule, walls: WallFn, elapsed: bool, after: datetime
) -> datetime | None:
    zone = resolve_zone(schedule.tz)
    gap, fold = _policy(schedule, elapsed)
    local_after = after.astimezone(zone).replace(tzinfo=None)
    if _offset_stable(zone, after):  # no transition near `after`: the first match wins
        for wall in walls(local_after):
            found = [i for i in _instants(wall, zone, gap, fold) if i > after]
            if found:
                return min(found)
        return None
    best: datetime | None = None
    for wall in walls(local_after - _WINDOW):
        if best is not None and wall > best.astimezone(zone).replace(tzinfo=None) + _WINDOW:
            break
        for instant in _instants(wall, zone, gap, fold):
            if instant > after and (best is None or instant < best):
                best = instant
    return best


def _wall_times_back(expr: str, start: datetime) -> Iterator[datetime]:
    it = croniter(expand(expr), start, second_at_beginning=True)
    for _ in range(_MAX_SCAN):
        try:
            yield it.get_prev(datetime)
        except CroniterBadDateError:
            return


def _one_prev(
    schedule: ZonedSchedule, walls: WallFn, elapsed: bool, at: datetime
) -> datetime | None:
    """The mirror of :func:`_one_next`: the last instant at or before ``at``."""
    zone = resolve_zone(schedule.tz)
    gap, fold = _policy(schedule, elapsed)
    local_at = at.astimezone(zone).replace(tzinfo=None) + timedelta(seconds=1)
    if _offset_stable(zone, at):  # no transition near `at`: the first match wins
        for wall in walls(local_at):
            found = [i for i in _instants(wall, zone, gap, fold) if i <= at]
            if found:
                return max(found)
        return None
    best: datetime | None = None
    for wall in walls(local_at + _WINDOW):
        if best is not None and wall < best.astimezone(zone).replace(tzinfo=None) - _WINDOW:
            break
        for instant in _instants(wall, zone, gap, fold):
            if instant <= at and (best is None or instant > best):
                best = instant
    return best


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (UTC), or ``None`` if there is none (or it
    lies past the last representable time).

    Manual and when-ready schedules have no slots of their own. Interval slots are
    computed arithmetically, however far ``after`` is from the anchor.
    """
    try:
        if isinstance(schedule, CronSchedule | CalendarSchedule):
            return _zoned_next(schedule, after)
        if isinstance(schedule, IntervalSchedule):
            return _interval_slot(schedule, _slot_index(schedule, after) + 1)
        if isinstance(schedule, OnceSchedule):
            return schedule.at.astimezone(UTC) if schedule.at > after else None
    except OverflowError:
        return None
    return None


def prev_fire(schedule: Schedule, at: datetime) -> datetime | None:
    """The last slot at or before ``at`` (UTC), or ``None`` if there is none.

    Interval slots are computed arithmetically; cron walks back from ``at`` (a few steps
    unless ``at`` is near a UTC offset change).
    """
    try:
        if isinstance(schedule, CronSchedule | CalendarSchedule):
            return _zoned_prev(schedule, at)
        if isinstance(schedule, IntervalSchedule):
            n = _slot_index(schedule, at)
            return _interval_slot(schedule, n) if n >= 1 else None
        if isinstance(schedule, OnceSchedule):
            return schedule.at.astimezone(UTC) if schedule.at <= at else None
    except OverflowError:
        return None
    return None


def _interval_slot(schedule: IntervalSchedule, n: int) -> datetime:
    return (schedule.anchor + timedelta(seconds=n * schedule.every)).astimezone(UTC)


def _slot_index(schedule: IntervalSchedule, at: datetime) -> int:
    """The index n of the last slot ``anchor + n·every`` at or before ``at`` (0 when ``at``
    is before the first slot): ``floor((at - anchor) / every)``, corrected for float and
    microsecond rounding so that it agrees with :func:`_interval_slot`."""
    elapsed = (at - schedule.anchor).total_seconds()
    n = max(0, math.floor(elapsed / schedule.every))
    while n > 0 and _interval_slot(schedule, n) > at:
        n -= 1
    while _interval_slot(schedule, n + 1) <= at:
        n += 1
    return n


def count_between(schedule: Schedule, first: datetime, last: datetime) -> int | None:
    """How many slots lie in ``[first, last]`` when both are slots of an interval
    schedule (arithmetic); ``None`` for other schedules (not counted)."""
    if not isinstance(schedule, IntervalSchedule):
        return None
    return _slot_index(schedule, last) - _slot_index(schedule, first) + 1


def latest_slots(schedule: Schedule, at: datetime, count: int) -> list[datetime]:
    """The newest ``count`` slots at or before ``at``, oldest first (fewer if the schedule
    has fewer). Costs ``count`` steps, never one per slot since the anchor."""
    out: list[datetime] = []
    cursor = at
    while len(out) < count:
        slot = prev_fire(schedule, cursor)
        if slot is None:
            break
        out.append(slot)
        cursor = slot - timedelta(microseconds=1)
    out.reverse()
    return out


def preview(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` slots after ``after`` (fewer if the schedule runs out)."""
    out: list[datetime] = []
    cursor = after
    for _ in range(count):
        slot = next_fire(schedule, cursor)
        if slot is None:
            break
        out.append(slot)
        cursor = slot
    return out


def slots_between(schedule: Schedule, start: datetime, end: datetime, limit: int) -> list[datetime]:
    """Slots in ``(start, end]``, at most ``limit`` of them (oldest first)."""
    out: list[datetime] = []
    cursor = start
    while len(out) < limit:
        slot = next_fire(schedule, cursor)
        if slot is None or slot > end:
            break
        out.append(slot)
        cursor = slot
    return out


def jittered(job_id: str, slot: datetime, next_slot: datetime | None, jitter: float) -> datetime:
    """``slot`` delayed by a deterministic amount in ``[0, jitter)`` from a hash of
    ``(job_id, slot)``, never reaching ``next_slot``. The engine keys it by the job's name
    (stable across restarts and nodes, and known to ``--dry-run`` before the job exists)."""
    if jitter <= 0:
        return slot
    digest = hashlib.sha256(f"{job_id}|{slot.isoformat()}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    delay = fraction * jitter
    if jitter >= 1:  # whole seconds: readable fire times
        delay = float(math.floor(delay))
    if next_slot is not None:
        room = (next_slot - slot).total_seconds()
        delay = min(delay, max(0.0, room * 0.5))
    return slot + timedelta(seconds=delay)


def fire_at(key: str, schedule: Schedule, slot: datetime) -> datetime:
    """When ``slot`` of the job named ``key`` fires: the slot plus its deterministic
    ``--jitter`` delay (:func:`jittered`, kept under half the gap to the next slot), or
    the slot itself when the schedule has no jitter."""
    jitter = getattr(schedule, "jitter", 0.0)
    if not jitter:
        return slot
    return jittered(key, slot, next_fire(schedule, slot), jitter)
