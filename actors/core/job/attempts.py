"""Waits, runs and retries of the job state machine.

- A wait polls until its condition holds (then attempt 1 runs), a permanent evaluation
  error fails the fire, or its deadline / ``max_polls`` ends it per ``on_timeout``:
  ``fail`` → the fire ends ``timed_out``; ``fire_anyway`` → the action runs as if the
  condition held; ``fallback`` → the fallback runs once, recorded as its own run
  (``fallback=True``), and the fire ends ``timed_out`` whatever it did (bug 16.1.12).
- A failed or timed-out attempt is retried after :func:`~gnomon.actors.core.backoff.
  retry_delay` while attempts ≤ ``max_retries + 1``; retries rerun the action only, not the
  wait. Every failure is retried, transient or not (docs/lessons.md, design
  weaknesses). The jitter comes from an rng seeded by ``(job id, cycle, attempt)``, so a
  replay computes the same delay.
- ``breaker_open`` (the breaker refused, the target was not touched) is not charged: the
  attempt is deferred until the breaker reopens, unless a recurring job's next slot comes
  first — then the fire is skipped (reason ``breaker_open``).
- A ``timeout`` outcome ends a fire ``timed_out``, never ``failed``; an unexpected
  ``cancelled`` (the machine did not kill it) counts as a failed attempt.
- ``interrupted`` (a planned daemon stop killed the run) is not charged either: the fire
  goes back to ``backoff`` with its retry due at once, so the next start runs the same
  attempt again; failure and attempt counts stay as they were (``run.interrupted``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import attrs

from gnomon.actors.core.backoff import may_retry, retry_delay
from gnomon.actors.core.job.fires import (
    dispatch,
    end_fire,
    fire_by_cycle,
    fire_by_run,
    iso,
    ref,
    run_attempt,
)
from gnomon.actors.core.job.msgs import (
    RetryDue,
    RunFinished,
    RunStarted,
    StopWait,
    WaitPolled,
    WaitTimedOut,
)
from gnomon.actors.core.job.tx import Illegal, Tx, evolved, evolved_fire, name_of, recurring
from gnomon.runtime.model.enums import JobStatus, OnTimeout, Outcome, SkipReason
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.state import FirePhase, FireState, JobState

#: The shortest deferral while a breaker is open, when it gave no reopen time.
BREAKER_MIN_DELAY = 1.0
ORPHAN_ERROR = "run orphaned: the daemon stopped while it ran"
INTERRUPT_ERROR = "run interrupted: the daemon was stopped"


def _waiting(tx: Tx, cycle: int) -> FireState:
    s, n = tx.state, name_of(tx.state)
    fire = fire_by_cycle(tx, cycle)
    if fire.phase is not FirePhase.WAITING or fire.wait is None:
        raise Illegal(f"fire {cycle} of job {n} is not waiting (it is {fire.phase})")
    if s.status is JobStatus.PAUSED:
        raise Illegal(f"job {n} is paused; the wait of fire {cycle} is suspended")
    return fire


def on_wait_polled(tx: Tx, inp: WaitPolled) -> None:
    """One poll result of a fire's wait.

    Raises:
        Illegal: the fire is not waiting, or the job is paused (its wait is suspended).
    """
    fire = _waiting(tx, inp.cycle)
    assert fire.wait is not None
    label = {True: "true", False: "false", None: "error"}[inp.value]
    summary = inp.summary[:200]
    polls = fire.wait.polls + 1 if inp.polls is None else max(inp.polls, fire.wait.polls)
    wait = attrs.evolve(fire.wait, polls=polls, last_result=summary or label, last_poll_at=tx.now)
    fire = attrs.evolve(fire, wait=wait)
    pay: dict[str, Any] = {"poll": wait.polls, **ref(fire)}
    if inp.value is True:
        tx.effect(StopWait(cycle=fire.cycle))
        tx.replace_fire(fire)
        tx.emit(EventType.JOB_WAIT_SATISFIED, summary or "condition held", **pay)
        dispatch(tx, fire, f"condition held after {wait.polls} poll(s)")
    elif inp.value is None and not inp.transient:
        msg = f"wait failed: {summary or 'the condition could not be evaluated'}"
        end_fire(tx, fire, JobStatus.FAILED, Outcome.FAILED, msg)
    elif tx.state.spec.budget.max_polls and wait.polls >= tx.state.spec.budget.max_polls:
        _wait_over(tx, fire, f"condition not met after {wait.polls} poll(s) (max_polls)")
    else:
        tx.replace_fire(fire)
        if not inp.quiet:
            tx.emit(EventType.JOB_WAIT_TICK, summary or label, result=label, **pay)


def on_wait_timed_out(tx: Tx, inp: WaitTimedOut) -> None:
    """A fire's wait deadline passed.

    Raises:
        Illegal: the fire is not waiting, the job is paused, or the deadline is ahead.
    """
    fire = _waiting(tx, inp.cycle)
    assert fire.wait is not None
    if tx.now < fire.wait.deadline:
        raise Illegal(f"the wait of fire {fire.cycle} runs until {iso(fire.wait.deadline)}")
    budget = tx.state.spec.budget.wait_timeout
    last = f", last: {fire.wait.last_result}" if fire.wait.last_result else ""
    _wait_over(tx, fire, f"condition not met within {budget:g}s ({fire.wait.polls} poll(s){last})")


def _wait_over(tx: Tx, fire: FireState, why: str) -> None:
    wait = tx.state.spec.wait
    assert wait is not None
    match wait.on_timeout:
        case OnTimeout.FAIL:
            end_fire(tx, fire, JobStatus.TIMED_OUT, Outcome.TIMEOUT, f"wait timed out: {why}")
        case OnTimeout.FIRE_ANYWAY:
            tx.effect(StopWait(cycle=fire.cycle))
            dispatch(tx, fire, f"wait timed out ({why}); firing anyway")
        case OnTimeout.FALLBACK:
            tx.effect(StopWait(cycle=fire.cycle))
            dispatch(tx, fire, f"wait timed out ({why}); running the fallback", fallback=True)


def on_run_started(tx: Tx, inp: RunStarted) -> None:
    """The executor began a run; remembered so a restart can tell an orphan.

    Raises:
        Illegal: the run is not in flight or was already reported started.
    """
    fire = fire_by_run(tx, inp.run_id)
    if fire.started:
        raise Illegal(f"run {inp.run_id} was already reported started")
    tx.replace_fire(attrs.evolve(fire, started=True))


def started_now(state: JobState, run_id: str, now: datetime) -> JobState | None:
    """``step(state, RunStarted(now=now, run_id=run_id)).state`` without a step — the
    fast path of a run recorded as started with the step that dispatched it (every fire):
    the run's fire marked started and ``updated_at`` stamped; no event, and no timer
    changes (timers do not depend on ``started``). ``None`` where the step would refuse
    (the run not in flight, or already started)."""
    fires = state.fires
    fire = next((f for f in fires if f.phase is FirePhase.RUNNING and f.run_id == run_id), None)
    if fire is None or fire.started:
        return None
    new = evolved_fire(fire, started=True)
    if len(fires) == 1:  # every plain fire: nothing to sort
        return evolved(state, fires=(new,), updated_at=now)
    rest = [f for f in fires if f.cycle != new.cycle]
    rest.append(new)
    return evolved(state, fires=tuple(sorted(rest, key=lambda f: f.cycle)), updated_at=now)


def on_run_finished(tx: Tx, inp: RunFinished) -> None:
    """A run ended: end the fire, retry, or defer past an open breaker.

    Raises:
        Illegal: the run is not in flight (killed, already finished, unknown), or it
            claims the outcome ``skipped``, which runs cannot have.
    """
    fire = fire_by_run(tx, inp.run_id)
    if inp.outcome is Outcome.SKIPPED:
        raise Illegal(f"run {inp.run_id} cannot end skipped; skips are decided here")
    if inp.outcome is Outcome.INTERRUPTED:
        interrupted(tx, fire, inp.error or INTERRUPT_ERROR)
        return
    error = inp.error or _default_error(inp)
    finished(tx, fire, inp.outcome, error, retry_after=inp.retry_after, transient=inp.transient)


def _default_error(inp: RunFinished) -> str:
    match inp.outcome:
        case Outcome.TIMEOUT:
            return "the action timed out"
        case Outcome.CANCELLED:
            return "the run was cancelled"
        case Outcome.FAILED if inp.exit_code is not None:
            return f"exit code {inp.exit_code}"
    return "" if inp.outcome is Outcome.SUCCESS else f"the action ended {inp.outcome}"


def finished(
    tx: Tx,
    fire: FireState,
    outcome: Outcome,
    error: str,
    *,
    retry_after: float | None = None,
    transient: bool = False,
) -> None:
    """Apply the end of ``fire``'s run (also used for orphans found at recovery)."""
    if fire.fallback:
        what = "succeeded" if outcome is Outcome.SUCCESS else f"ended {outcome}: {error}"
        end_fire(tx, fire, JobStatus.TIMED_OUT, Outcome.TIMEOUT, f"wait timed out; fallback {what}")
        return
    match outcome:
        case Outcome.SUCCESS:
            end_fire(tx, fire, JobStatus.COMPLETED, outcome, f"fire {fire.cycle} succeeded")
        case Outcome.BREAKER_OPEN:
            _defer(tx, fire, retry_after)
        case _:
            _failed(tx, attrs.evolve(fire, error=error), outcome, retry_after, transient)


def interrupted(tx: Tx, fire: FireState, error: str) -> None:
    """A planned daemon stop ended ``fire``'s run: uncharged, the same attempt (or
    fallback) is due again at once, i.e. at the next start (see the module docstring)."""
    again = run_attempt(fire)
    charged = fire.attempt if fire.fallback else fire.attempt - 1
    back = attrs.evolve(
        fire, phase=FirePhase.BACKOFF, retry_at=tx.now, attempt=charged, started=False, error=error
    )
    tx.replace_fire(back)
    if not fire.fallback:
        tx.evolve(attempts=charged)
    msg = f"{error}; attempt {again} runs again at the next start"
    tx.settle(msg)
    tx.evolve(message=msg)
    tx.emit(
        EventType.RUN_INTERRUPTED,
        msg,
        outcome=Outcome.INTERRUPTED,
        **ref(fire),
        run_id=fire.run_id,
        attempt=again,
    )


def _rng(tx: Tx, fire: FireState) -> random.Random:
    return random.Random(f"{tx.state.id}|{fire.cycle}|{fire.attempt}")


def _failed(
    tx: Tx, fire: FireState, outcome: Outcome, retry_after: float | None, transient: bool
) -> None:
    budget = tx.state.spec.budget
    if not may_retry(budget, fire.attempt):
        ended = JobStatus.TIMED_OUT if outcome is Outcome.TIMEOUT else JobStatus.FAILED
        msg = fire.error
        if budget.max_retries:
            msg = f"retries exhausted after {fire.attempt} attempts: {fire.error}"
        end_fire(tx, fire, ended, outcome, msg)
        return
    delay = retry_delay(budget, fire.attempt, _rng(tx, fire))
    delay = max(delay, retry_after or 0.0)
    at = tx.now + timedelta(seconds=delay)
    tx.replace_fire(attrs.evolve(fire, phase=FirePhase.BACKOFF, retry_at=at, started=False))
    msg = f"attempt {fire.attempt} ended {outcome}: {fire.error}; retrying in {delay:.3g}s"
    tx.settle(msg)
    tx.evolve(message=msg)
    tx.emit(
        EventType.JOB_RETRY_QUEUED,
        msg,
        outcome=outcome,
        **ref(fire),
        run_id=fire.run_id,
        attempt=fire.attempt,
        delay=round(delay, 3),
        retry_at=at,
        transient=transient,
    )


def _defer(tx: Tx, fire: FireState, retry_after: float | None) -> None:
    s = tx.state
    fallback = s.spec.budget.backoff_initial
    delay = max(retry_after if retry_after is not None else fallback, BREAKER_MIN_DELAY)
    at = tx.now + timedelta(seconds=delay)
    fire = attrs.evolve(fire, attempt=fire.attempt - 1, started=False, error="breaker open")
    tx.evolve(attempts=fire.attempt)
    nxt = s.next_fire_at
    if recurring(s) and not fire.manual and nxt is not None and at >= nxt:
        msg = f"breaker open until {iso(at)}, past the next slot; fire {fire.cycle} skipped"
        end_fire(tx, fire, JobStatus.SKIPPED, Outcome.BREAKER_OPEN, msg, SkipReason.BREAKER_OPEN)
        return
    tx.replace_fire(attrs.evolve(fire, phase=FirePhase.BACKOFF, retry_at=at))
    msg = f"breaker open: attempt {fire.attempt + 1} deferred {delay:.3g}s (not charged)"
    tx.settle(msg)
    tx.evolve(message=msg)
    tx.emit(
        EventType.JOB_RETRY_QUEUED,
        msg,
        outcome=Outcome.BREAKER_OPEN,
        **ref(fire),
        run_id=fire.run_id,
        attempt=fire.attempt + 1,
        retry_at=at,
        delay=round(delay, 3),
        charged=False,
    )


def on_retry_due(tx: Tx, inp: RetryDue) -> None:
    """A fire's backoff is over: dispatch its next attempt.

    Raises:
        Illegal: the fire is not in backoff, the job is paused, or it is not due yet.
    """
    s, n = tx.state, name_of(tx.state)
    fire = fire_by_cycle(tx, inp.cycle)
    if fire.phase is not FirePhase.BACKOFF or fire.retry_at is None:
        raise Illegal(f"fire {fire.cycle} of job {n} is not waiting to retry (it is {fire.phase})")
    if s.status is JobStatus.PAUSED:
        raise Illegal(f"job {n} is paused; the retry of fire {fire.cycle} is held until resume")
    if tx.now < fire.retry_at:
        raise Illegal(f"the retry of fire {fire.cycle} is due at {iso(fire.retry_at)}")
    what = "the fallback" if fire.fallback else f"attempt {fire.attempt + 1}"
    dispatch(tx, fire, f"retry: running {what}", fallback=fire.fallback)
