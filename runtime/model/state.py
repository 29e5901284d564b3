"""The daemon's record of a live job and of its runs.

:class:`JobState` is what the job state machine (``gnomon.actors.core.job_fsm``)
transforms and what the store persists; a restart rebuilds the job actor from it, so it
holds everything needed to resume (the fire in flight, wait progress, attempt numbers).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.job import CreatedBy, JobSpec, Owner

MAX_TRANSITIONS = 64
OUTPUT_TAIL_BYTES = 32 * 1024


@attrs.frozen(kw_only=True)
class Transition:
    """One status change and its reason (the last :data:`MAX_TRANSITIONS` are kept)."""

    at: datetime
    from_status: JobStatus
    to_status: JobStatus
    reason: str


@attrs.frozen(kw_only=True)
class WaitProgress:
    """How far the wait of the fire in flight has got; survives restarts.

    The wait deadline is ``started_at + budget.wait_timeout`` (absolute, so a restart
    resumes with the remaining budget, not a fresh one).
    """

    started_at: datetime
    polls: int = 0
    last_result: str = ""
    last_poll_at: datetime | None = None


@attrs.frozen(kw_only=True)
class FireState:
    """The fire in flight: its nominal slot, the current attempt and its wait."""

    fire_time: datetime
    attempt: int = 0
    run_id: str | None = None
    wait: WaitProgress | None = None
    manual: bool = False
    retry_at: datetime | None = None


@attrs.frozen(kw_only=True)
class JobState:
    """A job as the daemon knows it."""

    id: str
    spec: JobSpec
    owner: Owner
    created_by: CreatedBy = attrs.field(factory=CreatedBy)
    created_at: datetime
    updated_at: datetime
    status: JobStatus = JobStatus.PENDING
    next_fire_at: datetime | None = None
    cycle: int = 0
    fire: FireState | None = None
    last_outcome: Outcome | None = None
    message: str = ""
    paused_from: JobStatus | None = None
    parent_id: str | None = None
    depends_on_ids: tuple[str, ...] = ()
    trigger_ids: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    finished_at: datetime | None = None
    expires_at: datetime | None = None


@attrs.frozen(kw_only=True)
class RunRecord:
    """One execution of a job's action (or fallback): an attempt of a fire.

    ``output`` is the tail of the combined output, at most :data:`OUTPUT_TAIL_BYTES`.
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
    tokens: int | None = None
    cost_usd: float | None = None
