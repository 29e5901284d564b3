"""What ``--dry-run`` shows of a job's next fires: each slot, when it fires with its
``--jitter`` delay, and the exclusion calendar that skips it. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from gnomon.runtime.model.exclusions import ExclusionCalendar, excluded_by
from gnomon.runtime.model.firing import fire_at, preview
from gnomon.runtime.model.schedule import Schedule


@attrs.frozen(kw_only=True)
class PlannedFire:
    """One slot: ``fires_at`` = slot + jitter delay; ``excluded`` names the calendar
    that skips it (then nothing fires)."""

    slot: datetime
    fires_at: datetime
    excluded: str | None = None


def plan_fires(
    name: str,
    schedule: Schedule,
    after: datetime,
    count: int,
    *,
    exclude: Sequence[str] = (),
    calendars: Mapping[str, ExclusionCalendar] | None = None,
) -> list[PlannedFire]:
    """The next ``count`` slots after ``after`` of job ``name``, as the engine will treat
    them (the jitter is keyed by the job's name, as the engine keys it)."""
    known = calendars or {}
    return [
        PlannedFire(
            slot=slot,
            fires_at=fire_at(name, schedule, slot),
            excluded=excluded_by(exclude, known, slot),
        )
        for slot in preview(schedule, after, count)
    ]
