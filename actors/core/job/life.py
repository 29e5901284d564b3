"""Life-cycle inputs of the job state machine: creation, pause, resume, cancel, expiry
and dependency news.

Pause stops new fires, retries and wait polling (each wait's remaining budget is frozen)
but lets runs in flight finish; their results are recorded and may end the job. Resume
returns to where the job was: a blocked job stays blocked (reference bug 16.1.13), a
recurring job jumps to its next future slot (no misfire storm), a one-shot job whose slot
passed meanwhile fires now. Dependency failures reach paused jobs too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from gnomon.actors.core.dag import Readiness, Verdict, evaluate
from gnomon.actors.core.job.fires import (
    end_job,
    flush_paused_skips,
    iso,
    start_queued,
    wait_effect,
)
from gnomon.actors.core.job.msgs import (
    Cancel,
    Created,
    DependencyEnded,
    Pause,
    RecordSkip,
    Resume,
    StopWait,
)
from gnomon.actors.core.job.slots import fire_held_slot
from gnomon.actors.core.job.tx import (
    Illegal,
    Tx,
    awaits_deps,
    is_manual,
    live_status,
    name_of,
    recurring,
)
from gnomon.runtime.model.enums import JobStatus, SkipReason
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.schedule import WhenReadySchedule
from gnomon.runtime.model.state import FirePhase, JobState, Transition


def on_created(tx: Tx, inp: Created) -> None:
    """A new job: pending with its first slot armed, blocked on open dependencies, or
    ended at once (a dependency already failed, or no slot to fire).

    Raises:
        Illegal: the job was already created.
    """
    s, n = tx.state, name_of(tx.state)
    if s.transitions or s.cycle or s.fires or s.status is not JobStatus.PENDING:
        raise Illegal(f"job {n} was already created (it is {s.status})")
    tx.rearm_all = True  # a new job's actor holds no timer yet
    slot = inp.first_slot
    if is_manual(s):
        slot = None
    elif isinstance(s.spec.schedule, WhenReadySchedule):
        slot = inp.now
    tx.evolve(next_fire_at=slot, dependencies=inp.dependencies or s.dependencies)
    deps = tx.state.dependencies
    verdict = evaluate(s.spec.trigger_rule, deps)
    if verdict.readiness is Readiness.READY and slot is None and not is_manual(s):
        verdict = Verdict(Readiness.SKIPPED, "the schedule has no slot left to fire")
    blocked = verdict.readiness is Readiness.BLOCKED
    status = JobStatus.BLOCKED if blocked else JobStatus.PENDING
    reason = _waiting_for(tx.state) if blocked else "created"
    first = Transition(at=tx.now, from_status=JobStatus.PENDING, to_status=status, reason=reason)
    tx.evolve(status=status, message=reason, transitions=(first,))
    tx.emit(EventType.JOB_CREATED, f"job {n} created ({tx.state.status})", next_fire_at=slot)
    _apply_verdict(tx, verdict)


def _waiting_for(state: JobState) -> str:
    return "waiting for " + ", ".join(d.name for d in state.dependencies if d.status is None)


def _apply_verdict(tx: Tx, verdict: Verdict) -> None:
    match verdict.readiness:
        case Readiness.FAILED:
            end_job(tx, JobStatus.FAILED, verdict.message, EventType.JOB_DEPENDENCY_FAILED)
        case Readiness.SKIPPED:
            tx.effect(RecordSkip(fire_time=None, reason=SkipReason.POLICY))
            reason = SkipReason.POLICY
            end_job(tx, JobStatus.SKIPPED, verdict.message, EventType.JOB_SKIPPED, reason=reason)
        case Readiness.READY | Readiness.BLOCKED:
            pass


def on_pause(tx: Tx, inp: Pause) -> None:
    """Pause from any live status, remembering it; waits are suspended, runs go on.

    Raises:
        Illegal: the job is terminal or already paused.
    """
    s, n = tx.state, name_of(tx.state)
    if s.status.terminal:
        raise Illegal(f"cannot pause job {n}: it ended {s.status}")
    if s.status is JobStatus.PAUSED:
        raise Illegal(f"cannot pause job {n}: it is already paused")
    for f in s.fires:
        if f.phase is FirePhase.WAITING and f.wait is not None:
            left = max(0.0, (f.wait.deadline - tx.now).total_seconds())
            tx.replace_fire(attrs.evolve(f, wait=attrs.evolve(f.wait, remaining=left)))
            tx.effect(StopWait(cycle=f.cycle))
    reason = inp.reason or "paused"
    tx.go(JobStatus.PAUSED, reason)
    tx.evolve(paused_from=s.status)
    tx.emit(EventType.JOB_PAUSED, reason, paused_from=s.status)


def on_resume(tx: Tx, inp: Resume) -> None:
    """Back to where the job was paused from (see the module docstring).

    Raises:
        Illegal: the job is not paused (the message says what it is).
    """
    s, n = tx.state, name_of(tx.state)
    if s.status is not JobStatus.PAUSED:
        raise Illegal(f"cannot resume job {n}: it is {s.status}, not paused")
    flush_paused_skips(tx)
    if s.paused_from is JobStatus.BLOCKED:
        tx.go(JobStatus.BLOCKED, f"resumed; still {_waiting_for(s)}")
        tx.emit(EventType.JOB_RESUMED, tx.state.message)
        return
    for f in s.fires:
        if f.phase is FirePhase.WAITING and f.wait is not None and f.wait.remaining is not None:
            deadline = tx.now + timedelta(seconds=f.wait.remaining)
            f = attrs.evolve(f, wait=attrs.evolve(f.wait, deadline=deadline, remaining=None))
            tx.replace_fire(f)
            tx.effect(wait_effect(tx, f))
    nxt = s.next_fire_at
    if recurring(s) and nxt is not None and nxt <= tx.now and inp.next_slot is not None:
        tx.evolve(next_fire_at=inp.next_slot)
    tx.go(live_status(tx.state), "resumed")
    tx.emit(EventType.JOB_RESUMED, "resumed", next_fire_at=tx.state.next_fire_at)
    fire_held_slot(tx)
    start_queued(tx)


def on_cancel(tx: Tx, inp: Cancel) -> None:
    """Cancel from any live status: kill runs, stop waits, tell dependents.

    Raises:
        Illegal: the job already ended.
    """
    s, n = tx.state, name_of(tx.state)
    if s.status.terminal:
        raise Illegal(f"cannot cancel job {n}: it already ended {s.status}")
    end_job(tx, JobStatus.CANCELLED, inp.reason or "cancelled", EventType.JOB_CANCELLED)


def on_expire(tx: Tx) -> None:
    """The agent TTL ran out: cancelled, with a ``job.expired`` event.

    Raises:
        Illegal: the job already ended, or ``expires_at`` is unset or still ahead.
    """
    s, n = tx.state, name_of(tx.state)
    if s.status.terminal:
        raise Illegal(f"job {n} ended {s.status}; it cannot expire")
    if s.expires_at is None or tx.now < s.expires_at:
        raise Illegal(f"job {n} does not expire before {iso(s.expires_at)}")
    msg = f"expired: its time to live ended at {iso(s.expires_at)}"
    end_job(tx, JobStatus.CANCELLED, msg, EventType.JOB_EXPIRED)


def on_dependency_ended(tx: Tx, inp: DependencyEnded) -> None:
    """A dependency's final status: re-apply the trigger rule if the job awaits it
    (news for a job that no longer waits on dependencies changes nothing).

    Raises:
        Illegal: the status is not final, or the job does not depend on ``dep_id``.
    """
    s, n = tx.state, name_of(tx.state)
    if not inp.status.terminal:
        raise Illegal(f"dependency {inp.dep_id} of job {n} is {inp.status}, not a final status")
    dep = next((d for d in s.dependencies if d.id == inp.dep_id), None)
    if dep is None:
        raise Illegal(f"job {n} does not depend on {inp.dep_id}")
    if not awaits_deps(s) or dep.status is inp.status:
        return
    deps = tuple(
        attrs.evolve(d, status=inp.status) if d.id == inp.dep_id else d for d in s.dependencies
    )
    tx.evolve(dependencies=deps)
    resolve(tx, inp.next_slot, f"{dep.name} ended {inp.status}", dep.id)


def resolve(tx: Tx, next_slot: datetime | None, news: str, dep_id: str | None) -> None:
    """Re-apply the trigger rule after dependency news."""
    s = tx.state
    verdict = evaluate(s.spec.trigger_rule, s.dependencies)
    pay: dict[str, Any] = {"dependency": dep_id}
    match verdict.readiness:
        case Readiness.BLOCKED:
            tx.evolve(message=f"{news}; {_waiting_for(s)}")
            tx.emit(EventType.JOB_DEPENDENCY_RESOLVED, tx.state.message, **pay)
        case Readiness.READY:
            nxt = s.next_fire_at
            if recurring(s) and nxt is not None and nxt <= tx.now and next_slot is not None:
                tx.evolve(next_fire_at=next_slot)
            msg = f"dependencies resolved ({news})"
            if s.status is JobStatus.PAUSED:
                tx.evolve(paused_from=JobStatus.PENDING, message=msg)
            else:
                tx.go(JobStatus.PENDING, msg)
            tx.emit(EventType.JOB_DEPENDENCY_RESOLVED, msg, **pay)
            if s.status is not JobStatus.PAUSED:
                fire_held_slot(tx)
        case _:
            _apply_verdict(tx, verdict)
