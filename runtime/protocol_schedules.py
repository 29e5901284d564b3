"""Params and results of the schedule methods: exclusion calendars (``calendar.*``) and
``job.backfill`` (docs/protocol.md lists them with the rest of :data:`METHODS`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from gnomon.runtime.model.exclusions import ExclusionCalendar

#: The most slots one backfill may fire (a longer range is refused: split it).
MAX_BACKFILL_SLOTS = 10_000
MAX_PARALLEL = 64


@attrs.frozen(kw_only=True)
class CalendarAddParams:
    """``calendar.add``: a calendar of excluded dates and weekly windows, read in ``tz``;
    ``replace`` overwrites one with the same name (else that is refused)."""

    name: str
    tz: str = "UTC"
    dates: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    replace: bool = False


@attrs.frozen(kw_only=True)
class CalendarNameParams:
    name: str


@attrs.frozen(kw_only=True)
class CalendarList:
    calendars: tuple[ExclusionCalendar, ...]


@attrs.frozen(kw_only=True)
class BackfillParams:
    """``job.backfill``: fire every slot of job ``ref`` in ``[start, end]`` not yet claimed
    nor excluded, at most ``max_parallel`` at once; ``dry_run`` only lists them."""

    ref: str
    start: datetime
    end: datetime
    max_parallel: int = attrs.field(
        default=1, validator=[attrs.validators.ge(1), attrs.validators.le(MAX_PARALLEL)]
    )
    dry_run: bool = False


BackfillStatus = Literal["pending", "fired", "claimed", "excluded", "refused"]


@attrs.frozen(kw_only=True)
class BackfillSlot:
    """One slot of a backfill: ``fired`` (run now, its outcome in ``outcome``), ``claimed``
    (it fired before: nothing run), ``excluded`` (``calendar`` covers it), ``refused``
    (``message`` says why), or ``pending`` (a dry run's slot to fire)."""

    slot: datetime
    status: BackfillStatus
    outcome: str | None = None
    calendar: str | None = None
    message: str = ""


@attrs.frozen(kw_only=True)
class BackfillResult:
    job_id: str
    name: str
    slots: tuple[BackfillSlot, ...]
