"""The daemon's record of a live job and of its runs.

:class:`JobState` is what the job state machine (``gnomon.actors.core.job.fsm``)
transforms and what the store persists; a restart rebuilds the job actor from it, so it
holds everything needed to resume: the fires in flight (several under ``overlap=allow``),
the fire queued behind them (``overlap=queue``), each fire's attempt number, wait
progress and retry instant, the dependencies' final statuses and the failure streak.
Timers are not stored: they are a function of the state
(``gnomon.actors.core.job.fsm.timers``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.job import CreatedBy, JobSpec, Owner

#: The status changes a job's state keeps, newest last. Every save of a recurring job
#: rewrites its state row, so its history is bounded to keep that row under one 4 KiB
#: page: at 64 (~10 KB) SQLite rewrote an overflow chain twice a fire and a W4 fire cost
#: 13-14 % more CPU (docs/performance.md, "Transitions: the last 16"). Every event
#: carries the job's status when it happened, so the event log holds the whole history.
MAX_TRANSITIONS = 16
OUTPUT_TAIL_BYTES = 32 * 1024


@attrs.frozen(kw_only=True)
class Transition:
    """One status change and its reason (the last :data:`MAX_TRANSITIONS` are kept)."""

    at: datetime
    from_status: JobStatus
    to_status: JobStatus
    reason: str
    #: Its wire JSON once encoded (see ``JobSpec._wire_text``): a transition is written
    #: with every save of its job's state until it falls out of the last
    #: :data:`MAX_TRANSITIONS`.
    _wire_text: str | None = attrs.field(default=None, init=False, eq=False, repr=False)


class FirePhase(StrEnum):
    """Where one fire in flight is: polling its wait, running, or between attempts."""

    WAITING = "waiting"
    RUNNING = "running"
    BACKOFF = "backoff"


@attrs.frozen(kw_only=True)
class WaitProgress:
    """How far the wait of a fire in flight has got; survives restarts.

    ``deadline`` is absolute (``started_at + budget.wait_timeout``), so a restart resumes
    with the remaining budget, not a fresh one. While the job is paused the wait is
    suspended: ``remaining`` holds the seconds of budget left and the deadline is reset
    from it on resume.
    """

    started_at: datetime
    deadline: datetime
    polls: int = 0
    last_result: str = ""
    last_poll_at: datetime | None = None
    remaining: float | None = None


@attrs.frozen(kw_only=True)
class FireState:
    """One fire in flight: its nominal slot, its attempt and what it is doing.

    Attributes:
        fire_time: the nominal slot (``now`` for a run-now or a trigger).
        cycle: the job's fire counter when this fire happened (1-based).
        manual: fired by ``jobs run`` or a trigger rather than by the schedule.
        attempt: action attempts charged so far (the fallback is not one, nor a call
            refused by an open breaker).
        runs: runs dispatched so far, refused and fallback ones included.
        run_id: the run dispatched last, ``<job id>.<cycle>.<runs>``.
        started: the executor reported that ``run_id`` began.
        fallback: ``run_id`` is the wait's fallback action.
        retry_at: in ``backoff``, when the next attempt is due.
        error: the last error of this fire.
    """

    fire_time: datetime
    cycle: int
    phase: FirePhase
    manual: bool = False
    attempt: int = 0
    runs: int = 0
    run_id: str | None = None
    started: bool = False
    fallback: bool = False
    wait: WaitProgress | None = None
    retry_at: datetime | None = None
    error: str = ""


@attrs.frozen(kw_only=True)
class QueuedFire:
    """A slot (or run-now) held back by ``overlap=queue`` until the fire in flight ends."""

    fire_time: datetime
    cycle: int
    manual: bool = False


@attrs.frozen(kw_only=True)
class SkipTally:
    """Slots a paused recurring job skipped so far in this pause: how many, the first and
    the last. Written as one ``job.skipped`` event when the pause ends
    (``docs/engine.md``)."""

    count: int
    first: datetime
    last: datetime


@attrs.frozen(kw_only=True)
class Dependency:
    """A ``depends_on`` predecessor; ``status`` is its final status once it has ended."""

    id: str
    name: str
    status: JobStatus | None = None


@attrs.frozen(kw_only=True)
class JobState:
    """A job as the daemon knows it.

    ``status`` is derived from ``fires`` while the job is live and neither paused nor
    blocked: ``running`` when a run is dispatched, else ``waiting`` when a wait polls,
    else ``pending``. ``attempts`` is the attempt number of the latest dispatched run.
    """

    id: str
    spec: JobSpec
    owner: Owner
    created_by: CreatedBy = attrs.field(factory=CreatedBy)
    created_at: datetime
    updated_at: datetime
    status: JobStatus = JobStatus.PENDING
    next_fire_at: datetime | None = None
    cycle: int = 0
    fires: tuple[FireState, ...] = ()
    queued: QueuedFire | None = None
    attempts: int = 0
    consecutive_failures: int = 0
    last_outcome: Outcome | None = None
    message: str = ""
    paused_from: JobStatus | None = None
    paused_skips: SkipTally | None = None
    parent_id: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    trigger_ids: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    finished_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def fire(self) -> FireState | None:
        """The oldest fire in flight, if any."""
        return self.fires[0] if self.fires else None

    @property
    def depends_on_ids(self) -> tuple[str, ...]:
        """Ids of the ``depends_on`` predecessors, in the order given."""
        return tuple(d.id for d in self.dependencies)


@attrs.frozen(kw_only=True)
class RunRecord:
    """One execution of a job's action (or fallback): an attempt of a fire.

    ``output`` is the tail of the combined output, at most :data:`OUTPUT_TAIL_BYTES`.
    ``proc_start`` (clock ticks since boot) and ``host_boot`` (the machine's boot id)
    identify the process beyond its pid, so recovery never kills a reused pid.
    """

    run_id: str
    job_id: str
    cycle: int
    attempt: int
    fire_time: datetime
    started_at: datetime
    finished_at: datetime | None = None
    outcome: Outcome | None = None
    exit_code: int | None = None
    output: str = ""
    error: str = ""
    fallback: bool = False
    pid: int | None = None
    pgid: int | None = None
    proc_start: int | None = None
    host_boot: str | None = None
    tokens: int | None = None
    cost_usd: float | None = None
