"""Inputs and effects of the job state machine (:mod:`gnomon.actors.core.job.fsm`).

Every input carries ``now`` (the machine never reads a clock) and, where calendar math is
needed, the next slot computed by the caller (``next_slot``). Fires in flight are named
by their ``cycle`` (unique per job), runs by their ``run_id``.

The job actor interprets effects in order: it commits the new state together with the
:class:`Emit` events in one transaction, then performs the rest. Timers are keyed by
``(kind, cycle)``: :class:`ArmTimer` replaces the timer with the same key; when a timer is
due the actor feeds :func:`due` of it back into the machine.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.enums import JobStatus, Outcome, SkipReason
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.state import Dependency, JobState

# -- inputs ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Created:
    """A new job enters the machine (its ``JobState`` is fresh and ``pending``).

    ``first_slot`` is the schedule's first fire time (ignored for ``manual``, which never
    fires by itself, and ``when_ready``, which fires at once). ``dependencies`` are the
    resolved ``depends_on`` jobs with the final status of those that already ended.
    """

    now: datetime
    first_slot: datetime | None = None
    dependencies: tuple[Dependency, ...] = ()


@attrs.frozen(kw_only=True)
class FireDue:
    """The fire timer is due for ``slot``; ``next_slot`` is the schedule's slot after it
    (``None`` for one-shot schedules or when the schedule has no more slots).

    ``bulk``: the job is so far behind that ``slot`` and every slot before ``next_slot``
    (``missed`` of them, when counted; the last is ``last_missed``) are dropped at once;
    ``next_slot`` is then the oldest of the newest slots still handled one by one.
    ``due``: when the timer rang for it (the slot plus its ``--jitter`` delay); lateness
    is counted from it. ``excluded``: the exclusion calendar that covers the slot.
    ``overlapping``: the engine is behind by several periods while a fire is in flight
    (an ``overlap=skip`` job, every slot within ``misfire_grace``): ``slot`` and the
    ``missed - 1`` slots after it up to ``last_missed`` would each be an overlap skip, so
    they are skipped at once, as one counted ``job.skipped`` (``next_slot``: the first
    slot still to come).
    """

    now: datetime
    slot: datetime
    next_slot: datetime | None = None
    bulk: bool = False
    missed: int | None = None
    last_missed: datetime | None = None
    due: datetime | None = None
    excluded: str | None = None
    overlapping: bool = False


@attrs.frozen(kw_only=True)
class Backfill:
    """Fire past slot ``slot`` now (``gnomon jobs backfill``), alongside any fire in flight;
    the fire claims the slot like a scheduled one."""

    now: datetime
    slot: datetime


@attrs.frozen(kw_only=True)
class RunNow:
    """Fire now, outside the schedule (``jobs run``, or a trigger when ``trigger`` names
    the parent job); the schedule is not disturbed."""

    now: datetime
    trigger: str | None = None


@attrs.frozen(kw_only=True)
class WaitPolled:
    """One poll of fire ``cycle``'s wait: ``value`` true/false, or ``None`` for an error
    that is ``transient`` (poll again) or permanent (the fire fails).

    ``polls`` is the wait's poll count including this one when the poller counted polls
    the job did not hear of (unchanged results, ``actors/core/wait_book.py``); ``None`` counts
    this one. ``quiet``: an unchanged result, saved without a ``job.wait_tick``.
    """

    now: datetime
    cycle: int
    value: bool | None
    summary: str = ""
    transient: bool = True
    polls: int | None = None
    quiet: bool = False


@attrs.frozen(kw_only=True)
class WaitTimedOut:
    """The wait deadline of fire ``cycle`` has passed."""

    now: datetime
    cycle: int


@attrs.frozen(kw_only=True)
class RunStarted:
    """``run_id`` is handed to its run task: from now on a restart treats it as an orphan
    (it may have reached its target), never re-issues it."""

    now: datetime
    run_id: str


@attrs.frozen(kw_only=True)
class RunFinished:
    """``run_id`` ended. ``retry_after`` is the target's own hint (``Retry-After``), or
    the breaker's reopen delay for ``breaker_open``."""

    now: datetime
    run_id: str
    outcome: Outcome
    exit_code: int | None = None
    error: str = ""
    transient: bool = False
    retry_after: float | None = None


@attrs.frozen(kw_only=True)
class RetryDue:
    """Fire ``cycle``'s backoff is over."""

    now: datetime
    cycle: int


@attrs.frozen(kw_only=True)
class Pause:
    """``jobs pause``: legal in every non-terminal status."""

    now: datetime
    reason: str = ""


@attrs.frozen(kw_only=True)
class Resume:
    """``jobs resume``. ``next_slot`` is the schedule's first slot after ``now``
    (recurring jobs jump to it instead of replaying missed slots)."""

    now: datetime
    next_slot: datetime | None = None


@attrs.frozen(kw_only=True)
class Cancel:
    """``jobs cancel``: legal in every non-terminal status; kills runs in flight."""

    now: datetime
    reason: str = ""


@attrs.frozen(kw_only=True)
class DependencyEnded:
    """Dependency ``dep_id`` reached the terminal ``status``. ``next_slot`` as for
    :class:`Resume` (used when the job becomes ready late)."""

    now: datetime
    dep_id: str
    status: JobStatus
    next_slot: datetime | None = None


@attrs.frozen(kw_only=True)
class Expire:
    """The job's ``expires_at`` (agent TTL) has come."""

    now: datetime


@attrs.frozen(kw_only=True)
class Recover:
    """The job actor (re)starts from persisted state after a crash, restart or shutdown.

    ``dependencies`` are the current final statuses of the dependencies, when known, in
    case a notification was lost with the previous incarnation.
    """

    now: datetime
    dependencies: tuple[Dependency, ...] = ()


JobInput = (
    Created
    | FireDue
    | RunNow
    | Backfill
    | WaitPolled
    | WaitTimedOut
    | RunStarted
    | RunFinished
    | RetryDue
    | Pause
    | Resume
    | Cancel
    | DependencyEnded
    | Expire
    | Recover
)

# -- effects -----------------------------------------------------------------------------


class TimerKind(StrEnum):
    """What a timer is for: the next slot, a retry, a wait deadline, the job's expiry."""

    FIRE = "fire"
    RETRY = "retry"
    WAIT = "wait"
    EXPIRE = "expire"


@attrs.frozen
class Emit:
    """Commit this event with the new state."""

    event: EventDraft


@attrs.frozen(kw_only=True)
class ArmTimer:
    """Arm (or move) the timer ``(kind, cycle)`` to ``at``; a past ``at`` is due at once."""

    kind: TimerKind
    at: datetime
    cycle: int | None = None


@attrs.frozen(kw_only=True)
class CancelTimer:
    """Disarm the timer ``(kind, cycle)``; disarming an absent timer is fine."""

    kind: TimerKind
    cycle: int | None = None


@attrs.frozen(kw_only=True)
class StartWait:
    """Start (or resume) polling ``condition`` for fire ``cycle`` every ``poll_interval``
    seconds; ``polls`` were already made. The machine owns the deadline and max-polls."""

    cycle: int
    fire_time: datetime
    condition: Condition
    deadline: datetime
    poll_interval: float
    polls: int = 0


@attrs.frozen(kw_only=True)
class StopWait:
    """Stop polling for fire ``cycle`` (satisfied, timed out, paused, cancelled)."""

    cycle: int


@attrs.frozen(kw_only=True)
class StartRun:
    """Execute ``action`` as ``run_id`` under ``timeout`` seconds; the job actor feeds
    :class:`RunStarted` in the same unit of work (before the run exists) and
    :class:`RunFinished` when it ends."""

    run_id: str
    cycle: int
    fire_time: datetime
    attempt: int
    action: Action
    timeout: float
    fallback: bool = False


@attrs.frozen(kw_only=True)
class KillRun:
    """Cancel ``run_id`` now, killing its process group; its result will be ignored."""

    run_id: str
    reason: str


@attrs.frozen(kw_only=True)
class NotifyDependents:
    """The job reached the terminal ``status``: tell every job that depends on it."""

    job_id: str
    status: JobStatus


@attrs.frozen(kw_only=True)
class StartTriggers:
    """Clone and start the ``templates`` (ids) because fire ``cycle`` ended ``status``."""

    parent_id: str
    templates: tuple[str, ...]
    cycle: int
    fire_time: datetime
    status: JobStatus


@attrs.frozen(kw_only=True)
class RecordSkip:
    """Record slot ``fire_time`` as skipped (``gnomon_skips_total{reason}``)."""

    fire_time: datetime | None
    reason: SkipReason


Effect = (
    Emit
    | ArmTimer
    | CancelTimer
    | StartWait
    | StopWait
    | StartRun
    | KillRun
    | NotifyDependents
    | StartTriggers
    | RecordSkip
)


@attrs.frozen
class Step:
    """What one input did: the new state and the effects, or an error and no change.

    ``error`` is set when the input is illegal in the current state (e.g. resuming a job
    that is not paused) or stale (a result for a run that was already killed); ``state``
    is then the old state and ``effects`` is empty.
    """

    state: JobState
    effects: tuple[Effect, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def events(self) -> tuple[EventDraft, ...]:
        return tuple(e.event for e in self.effects if isinstance(e, Emit))

    @property
    def event_types(self) -> tuple[EventType, ...]:
        return tuple(e.type for e in self.events)


def due(
    kind: TimerKind,
    cycle: int | None,
    at: datetime,
    now: datetime,
    next_slot: datetime | None = None,
) -> JobInput:
    """The input to feed when timer ``(kind, cycle)``, armed for ``at``, is due.

    ``next_slot`` matters only for :attr:`TimerKind.FIRE`: the schedule's slot after ``at``.
    """
    match kind:
        case TimerKind.FIRE:
            return FireDue(now=now, slot=at, next_slot=next_slot)
        case TimerKind.RETRY:
            return RetryDue(now=now, cycle=cycle or 0)
        case TimerKind.WAIT:
            return WaitTimedOut(now=now, cycle=cycle or 0)
        case TimerKind.EXPIRE:
            return Expire(now=now)
