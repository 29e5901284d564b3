"""Fast paths of the job state machine for the plain cases every storm is made of.

A new job with a first slot and no dependency, a due slot of a pending job with nothing in
flight and no wait, the successful end of a job's only run, and the recovery of a pending
job with nothing in flight: each is built
here in one state rebuild (``evolved``) with its events and effects written out, instead
of the dozen rebuilds the general handlers make as they compose their primitives
(:mod:`~gnomon.actors.core.job.fires`). Each function returns exactly the
:class:`~gnomon.actors.core.job.msgs.Step` the general path returns — the same state,
events (payload keys in the same order), effects in the same order — or ``None`` when
its case does not apply, and then :func:`~gnomon.actors.core.job.fsm.step` takes the
general path. A hypothesis property test holds the two equal for random states and
inputs (``tests/unit/test_job_fast.py``).

Pure: no trio, no I/O, no clock. Never raises for domain reasons (a refusal is the
general path's to word).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gnomon.actors.core.job.fires import iso
from gnomon.actors.core.job.msgs import (
    Created,
    Effect,
    Emit,
    FireDue,
    JobInput,
    NotifyDependents,
    Recover,
    RunFinished,
    StartRun,
    Step,
)
from gnomon.actors.core.job.tx import evolved, is_manual, recurring, timed, timer_changes, timers
from gnomon.runtime.model.enums import JobStatus, Misfire, Outcome
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.state import MAX_TRANSITIONS, FirePhase, FireState, JobState, Transition
from gnomon.runtime.model.stored import is_refused

#: The message of a dispatched first attempt (``fires.start_fire`` → ``dispatch``).
RUNNING_MESSAGE = "running the action"


def fast_step(state: JobState, inp: JobInput) -> Step | None:
    """The step of ``inp`` when it is a plain case (see the module docstring), else
    ``None``."""
    kind = type(inp)
    if kind is Created:
        assert isinstance(inp, Created)
        return plain_created(state, inp)
    if kind is FireDue:
        assert isinstance(inp, FireDue)
        return plain_fire(state, inp)
    if kind is RunFinished:
        assert isinstance(inp, RunFinished)
        return plain_success(state, inp)
    if kind is Recover:
        return plain_recover(state, inp.now)
    return None


def _draft(
    state: JobState,
    type: EventType,
    now: datetime,
    message: str,
    payload: dict[str, Any],
    outcome: Outcome | None = None,
) -> Emit:
    """``Tx.emit`` for a payload already free of ``None`` and datetimes."""
    return Emit(
        EventDraft(
            type=type,
            timestamp=now,
            job_id=state.id,
            name=state.spec.name,
            owner=str(state.owner),
            status=state.status,
            outcome=outcome,
            message=message,
            payload=payload,
        )
    )


def plain_created(s: JobState, inp: Created) -> Step | None:
    """A new job with a first slot, a timed schedule and no dependency: pending, that slot
    armed, ``job.created`` (``on_created`` with a ready verdict)."""
    slot = inp.first_slot
    if slot is None or inp.dependencies or s.dependencies or not timed(s):
        return None
    if s.transitions or s.cycle or s.fires or s.status is not JobStatus.PENDING:
        return None
    now, status = inp.now, JobStatus.PENDING
    first = Transition(at=now, from_status=status, to_status=status, reason="created")
    new = evolved(s, next_fire_at=slot, message="created", transitions=(first,), updated_at=now)
    message = f"job {s.spec.name} created ({status})"
    created = _draft(new, EventType.JOB_CREATED, now, message, {"next_fire_at": slot.isoformat()})
    return Step(new, (created, *timer_changes({}, timers(new))))


def _moved(s: JobState, now: datetime, to: JobStatus, reason: str) -> tuple[Transition, ...]:
    tr = Transition(at=now, from_status=s.status, to_status=to, reason=reason)
    return (*s.transitions, tr)[-MAX_TRANSITIONS:]


def _fires_plainly(s: JobState, inp: FireDue) -> bool:
    """``on_fire_due`` would start a fire at once, and the fire would run at once."""
    if s.status is not JobStatus.PENDING or s.fires or s.spec.wait is not None:
        return False
    if inp.bulk or inp.overlapping or inp.excluded is not None or s.next_fire_at is None:
        return False
    if inp.slot != s.next_fire_at or inp.now < inp.slot or is_manual(s):
        return False
    spec = s.spec
    late = (inp.now - (inp.due or inp.slot)).total_seconds()
    if late <= spec.misfire_grace or spec.misfire is Misfire.FIRE_ALL:
        return True
    if spec.misfire is Misfire.SKIP:
        return False
    nxt = inp.next_slot if recurring(s) else None
    return nxt is None or nxt > inp.now  # fire_once: no later slot to coalesce into


def plain_fire(s: JobState, inp: FireDue) -> Step | None:
    """The due slot of a pending job with nothing in flight and no wait: ``job.fired``,
    ``job.running`` and its first attempt's :class:`StartRun`."""
    if not _fires_plainly(s, inp):
        return None
    now, slot, cycle = inp.now, inp.slot, s.cycle + 1
    run_id = f"{s.id}.{cycle}.1"
    fire = FireState(
        fire_time=slot, cycle=cycle, phase=FirePhase.RUNNING, attempt=1, runs=1, run_id=run_id
    )
    why = f"fire {cycle}: slot {iso(slot)}"
    new = evolved(
        s,
        next_fire_at=inp.next_slot if recurring(s) else None,
        cycle=cycle,
        fires=(fire,),
        attempts=1,
        status=JobStatus.RUNNING,
        message=RUNNING_MESSAGE,
        transitions=_moved(s, now, JobStatus.RUNNING, why),
        paused_from=None,
        updated_at=now,
    )
    at = slot.isoformat()
    spec = s.spec
    effects: list[Effect] = [
        _draft(new, EventType.JOB_FIRED, now, why, {"fire_time": at, "cycle": cycle}),
        _draft(
            new,
            EventType.JOB_RUNNING,
            now,
            RUNNING_MESSAGE,
            {"run_id": run_id, "attempt": 1, "fire_time": at, "cycle": cycle},
        ),
        StartRun(
            run_id=run_id,
            cycle=cycle,
            fire_time=slot,
            attempt=1,
            action=spec.action,
            timeout=spec.budget.action_timeout,
            fallback=False,
        ),
    ]
    effects += timer_changes(timers(s), timers(new))
    return Step(new, tuple(effects))


def _ends_plainly(s: JobState, inp: RunFinished) -> FireState | None:
    """The job's only fire, when ``inp`` is its run's success and nothing follows it
    (no trigger, no queued fire, no pause), else ``None``."""
    if inp.outcome is not Outcome.SUCCESS or s.status is not JobStatus.RUNNING:
        return None
    if len(s.fires) != 1 or s.queued is not None or s.paused_skips is not None:
        return None
    if s.trigger_ids:
        return None
    fire = s.fires[0]
    if fire.phase is not FirePhase.RUNNING or fire.run_id != inp.run_id or fire.fallback:
        return None
    return fire


def plain_success(s: JobState, inp: RunFinished) -> Step | None:
    """The success of a job's only run: ``job.completed``, and the job completed (its
    last slot) or pending again."""
    fire = _ends_plainly(s, inp)
    if fire is None:
        return None
    now, msg = inp.now, f"fire {fire.cycle} succeeded"
    final = not is_manual(s) and s.next_fire_at is None
    status = JobStatus.COMPLETED if final else JobStatus.PENDING
    finished = (s.finished_at or now) if final else s.finished_at
    new = evolved(
        s,
        fires=(),
        last_outcome=Outcome.SUCCESS,
        consecutive_failures=0,
        status=status,
        message=msg,
        transitions=_moved(s, now, status, msg),
        finished_at=finished,
        paused_from=None,
        updated_at=now,
    )
    payload: dict[str, Any] = {"run_id": fire.run_id, "attempt": fire.attempt}
    payload["fire_time"], payload["cycle"] = fire.fire_time.isoformat(), fire.cycle
    done = _draft(new, EventType.JOB_COMPLETED, now, msg, payload, Outcome.SUCCESS)
    effects: list[Effect] = [done]
    if final:
        effects.append(NotifyDependents(job_id=s.id, status=status))
    effects += timer_changes(timers(s), timers(new))
    return Step(new, tuple(effects))


def plain_recover(s: JobState, now: datetime) -> Step | None:
    """A pending job with nothing in flight starting afresh: its timers re-armed, no
    change (``on_recover`` with nothing to resume, expire or fail)."""
    if s.status is not JobStatus.PENDING or s.fires or is_refused(s):
        return None
    if s.expires_at is not None and now >= s.expires_at:
        return None
    return Step(s, tuple(timer_changes({}, timers(s))))
