"""Fire primitives of the job state machine: start a fire, dispatch a run, end a fire,
skip a slot, close the job.

A *fire* is one firing of the job (a slot, a run-now or a trigger), numbered by ``cycle``;
it waits (if the job has a wait), then runs its action until an attempt succeeds or the
retries run out, and ends ``completed``, ``failed``, ``timed_out`` or ``skipped``. A
one-shot job ends with its scheduled fire; a recurring one only with ``stop_on_failure``
or when its schedule has no more slots; a manual one only with ``stop_on_failure``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from gnomon.actors.core.dag import should_trigger
from gnomon.actors.core.job.msgs import (
    KillRun,
    NotifyDependents,
    RecordSkip,
    StartRun,
    StartTriggers,
    StartWait,
    StopWait,
)
from gnomon.actors.core.job.tx import Illegal, Tx, is_manual, name_of, recurring
from gnomon.runtime.model.enums import JobStatus, Outcome, SkipReason
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.state import FirePhase, FireState, SkipTally, WaitProgress

FAILURES = frozenset({JobStatus.FAILED, JobStatus.TIMED_OUT})
END_EVENTS = {
    JobStatus.COMPLETED: EventType.JOB_COMPLETED,
    JobStatus.FAILED: EventType.JOB_FAILED,
    JobStatus.TIMED_OUT: EventType.JOB_TIMED_OUT,
    JobStatus.SKIPPED: EventType.JOB_SKIPPED,
}


def iso(t: datetime | None) -> str:
    """``t`` in ISO 8601, or ``none``."""
    return "none" if t is None else t.isoformat()


def fire_by_cycle(tx: Tx, cycle: int) -> FireState:
    """The fire in flight numbered ``cycle``.

    Raises:
        Illegal: no such fire (it ended, or never was).
    """
    for f in tx.state.fires:
        if f.cycle == cycle:
            return f
    raise Illegal(f"job {name_of(tx.state)} has no fire {cycle} in flight")


def fire_by_run(tx: Tx, run_id: str) -> FireState:
    """The fire whose dispatched run is ``run_id``.

    Raises:
        Illegal: ``run_id`` is not in flight (it ended, was killed, or is unknown).
    """
    for f in tx.state.fires:
        if f.phase is FirePhase.RUNNING and f.run_id == run_id:
            return f
    raise Illegal(f"run {run_id} is not in flight for job {name_of(tx.state)}")


def ref(fire: FireState) -> dict[str, Any]:
    """The payload naming a fire in events: its nominal slot and cycle."""
    return {"fire_time": fire.fire_time, "cycle": fire.cycle}


def start_fire(
    tx: Tx, fire_time: datetime, cycle: int, *, manual: bool, announce: bool = True, **extra: Any
) -> None:
    """Begin fire ``cycle``: emit ``job.fired``, then start its wait or its first attempt."""
    s = tx.state
    wait = s.spec.wait
    phase = FirePhase.RUNNING if wait is None else FirePhase.WAITING
    fire = FireState(fire_time=fire_time, cycle=cycle, manual=manual, phase=phase)
    if wait is not None:
        deadline = tx.now + timedelta(seconds=s.spec.budget.wait_timeout)
        fire = attrs.evolve(fire, wait=WaitProgress(started_at=tx.now, deadline=deadline))
    tx.evolve(cycle=max(s.cycle, cycle))
    tx.replace_fire(fire)
    why = f"fire {cycle}: " + ("run now" if manual else f"slot {iso(fire_time)}")
    tx.settle(why)
    if announce:
        tx.emit(EventType.JOB_FIRED, why, manual=manual or None, **ref(fire), **extra)
    if wait is None:
        dispatch(tx, fire, "running the action")
    else:
        _begin_wait(tx, fire)


def _begin_wait(tx: Tx, fire: FireState) -> None:
    start = wait_effect(tx, fire)
    tx.effect(start)
    message = f"waiting for {start.condition.TAG} condition"
    tx.emit(EventType.JOB_WAIT_STARTED, message, deadline=start.deadline, **ref(fire))


def wait_effect(tx: Tx, fire: FireState) -> StartWait:
    """The :class:`StartWait` that (re)starts polling for ``fire`` where its wait stands."""
    s = tx.state
    assert s.spec.wait is not None
    assert fire.wait is not None
    return StartWait(
        cycle=fire.cycle,
        fire_time=fire.fire_time,
        condition=s.spec.wait.condition,
        deadline=fire.wait.deadline,
        poll_interval=s.spec.budget.poll_interval,
        polls=fire.wait.polls,
    )


def run_attempt(fire: FireState) -> int:
    """The attempt number of ``fire``'s dispatched run (a fallback is not charged)."""
    return fire.attempt + 1 if fire.fallback else fire.attempt


def run_effect(tx: Tx, fire: FireState) -> StartRun:
    """The :class:`StartRun` of ``fire``'s dispatched run: its action or the fallback."""
    s = tx.state
    assert fire.run_id is not None
    wait = s.spec.wait
    action = wait.fallback if fire.fallback and wait is not None else None
    return StartRun(
        run_id=fire.run_id,
        cycle=fire.cycle,
        fire_time=fire.fire_time,
        attempt=run_attempt(fire),
        action=action or s.spec.action,
        timeout=s.spec.budget.action_timeout,
        fallback=fire.fallback,
    )


def dispatch(tx: Tx, fire: FireState, message: str, *, fallback: bool = False) -> None:
    """Run the next attempt of ``fire`` (or its wait's fallback, not charged as an attempt):
    ``job.running`` and :class:`StartRun` with run id ``<job id>.<cycle>.<runs>``."""
    runs = fire.runs + 1
    run_id = f"{tx.state.id}.{fire.cycle}.{runs}"
    charged = fire.attempt if fallback else fire.attempt + 1
    fire = attrs.evolve(
        fire,
        phase=FirePhase.RUNNING,
        runs=runs,
        run_id=run_id,
        started=False,
        fallback=fallback,
        retry_at=None,
        attempt=charged,
    )
    tx.replace_fire(fire)
    if not fallback:
        tx.evolve(attempts=charged)
    tx.settle(message)
    tx.emit(
        EventType.JOB_RUNNING,
        message,
        run_id=run_id,
        attempt=run_attempt(fire),
        fallback=fallback or None,
        **ref(fire),
    )
    tx.effect(run_effect(tx, fire))


def abandon(tx: Tx, fire: FireState, reason: str) -> None:
    """Stop what ``fire`` is doing (kill its run, stop its wait); the caller drops it."""
    if fire.phase is FirePhase.RUNNING and fire.run_id is not None:
        tx.effect(KillRun(run_id=fire.run_id, reason=reason))
    elif fire.phase is FirePhase.WAITING:
        tx.effect(StopWait(cycle=fire.cycle))


def final_status(tx: Tx, ended: JobStatus) -> JobStatus | None:
    """The job's terminal status if a fire (or slot) that just ended as ``ended`` ends the
    job, else ``None``."""
    s = tx.state
    if (recurring(s) or is_manual(s)) and s.spec.stop_on_failure and ended in FAILURES:
        return ended
    if is_manual(s) or s.next_fire_at is not None or s.fires or s.queued is not None:
        return None
    return ended


def close(tx: Tx, status: JobStatus, message: str) -> None:
    """Make the job terminal: abandon every fire, drop the queue and the next slot (and
    write the slots skipped while paused, if it ends paused)."""
    flush_paused_skips(tx)
    for f in tx.state.fires:
        abandon(tx, f, f"job {status}: {message}")
    tx.evolve(fires=(), queued=None, next_fire_at=None)
    tx.go(status, message)


def end_job(tx: Tx, status: JobStatus, message: str, event: EventType, **payload: Any) -> None:
    """Close the job as ``status`` with one ``event`` and tell its dependents."""
    close(tx, status, message)
    tx.emit(event, message, **payload)
    tx.effect(NotifyDependents(job_id=tx.state.id, status=status))


def end_fire(
    tx: Tx,
    fire: FireState,
    ended: JobStatus,
    outcome: Outcome,
    message: str,
    skip: SkipReason | None = None,
) -> None:
    """``fire`` is over as ``ended``: record it, start triggers, end the job if it was its
    last fire, else start the queued fire."""
    s = tx.state
    tx.drop_fire(fire.cycle)
    if fire.phase is FirePhase.WAITING:
        tx.effect(StopWait(cycle=fire.cycle))
    streak = s.consecutive_failures + 1 if ended in FAILURES else s.consecutive_failures
    if ended is JobStatus.COMPLETED:
        streak = 0
    tx.evolve(last_outcome=outcome, consecutive_failures=streak)
    if skip is not None:
        tx.effect(RecordSkip(fire_time=fire.fire_time, reason=skip))
    attempt = None if fire.run_id is None else run_attempt(fire)
    final = final_status(tx, ended)
    if final is not None:
        close(tx, final, message)
    else:
        tx.settle(message)
        tx.evolve(message=message)
    tx.emit(
        END_EVENTS[ended],
        message,
        outcome=outcome,
        run_id=fire.run_id,
        attempt=attempt,
        reason=skip,
        consecutive_failures=streak or None,
        **ref(fire),
    )
    if s.trigger_ids and should_trigger(s.spec.triggers_on, ended):
        _start_triggers(tx, fire, ended)
    if final is not None:
        tx.effect(NotifyDependents(job_id=s.id, status=final))
    else:
        start_queued(tx)


def _start_triggers(tx: Tx, fire: FireState, ended: JobStatus) -> None:
    s = tx.state
    tx.effect(
        StartTriggers(
            parent_id=s.id,
            templates=s.trigger_ids,
            cycle=fire.cycle,
            fire_time=fire.fire_time,
            status=ended,
        )
    )
    message = f"fire {fire.cycle} ended {ended}: starting {len(s.trigger_ids)} triggered job(s)"
    tx.emit(EventType.JOB_TRIGGERED, message, templates=list(s.trigger_ids), **ref(fire))


def start_queued(tx: Tx) -> None:
    """Start the fire held by ``overlap=queue`` once nothing is in flight (not while paused)."""
    s = tx.state
    q = s.queued
    if q is None or s.fires or s.status is JobStatus.PAUSED or s.status.terminal:
        return
    tx.evolve(queued=None)
    start_fire(tx, q.fire_time, q.cycle, manual=q.manual, announce=False)


def tally_paused_skip(
    tx: Tx, slot: datetime, *, count: int = 1, last: datetime | None = None
) -> None:
    """A paused recurring job's ``slot`` passed (with ``count - 1`` more up to ``last``, a
    backlog dropped at once): claim ``slot`` and count them, announce nothing yet
    (:func:`flush_paused_skips` writes the pause's one ``job.skipped`` event)."""
    tx.effect(RecordSkip(fire_time=slot, reason=SkipReason.PAUSED))
    tally = tx.state.paused_skips
    last = last or slot
    if tally is None:
        tally = SkipTally(count=count, first=slot, last=last)
    else:
        tally = attrs.evolve(tally, count=tally.count + count, last=last)
    tx.evolve(paused_skips=tally)


def flush_paused_skips(tx: Tx) -> None:
    """The pause is ending: one ``job.skipped`` event (reason ``paused``) with the count and
    the first and last slot skipped during it, if any was."""
    tally = tx.state.paused_skips
    if tally is None:
        return
    tx.evolve(paused_skips=None)
    span = iso(tally.first) if tally.count == 1 else f"{iso(tally.first)} … {iso(tally.last)}"
    tx.emit(
        EventType.JOB_SKIPPED,
        f"{tally.count} slot(s) skipped while paused ({span})",
        outcome=Outcome.SKIPPED,
        reason=SkipReason.PAUSED,
        count=tally.count,
        first_slot=tally.first,
        last_slot=tally.last,
    )


def skip_slot(tx: Tx, slot: datetime, reason: SkipReason, message: str, **extra: Any) -> None:
    """Record ``slot`` as skipped; a one-shot job whose only slot this was ends ``skipped``.
    ``extra`` goes into the event's payload."""
    tx.effect(RecordSkip(fire_time=slot, reason=reason))
    final = final_status(tx, JobStatus.SKIPPED)
    if final is not None:
        close(tx, final, message)
    tx.emit(
        EventType.JOB_SKIPPED,
        message,
        outcome=Outcome.SKIPPED,
        fire_time=slot,
        reason=reason,
        **extra,
    )
    if final is not None:
        tx.effect(NotifyDependents(job_id=tx.state.id, status=final))
