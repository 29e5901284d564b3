"""The job state machine and a run interrupted by a planned daemon stop (outcome
``interrupted``): never charged, re-run as the same attempt at the next start."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from support.fsm_kit import EVERY, Sim, fired, job, of, t, waiting

from gnomon.actors.core.job.fsm import (
    FireDue,
    Recover,
    RetryDue,
    RunFinished,
    RunStarted,
    StartRun,
    WaitTimedOut,
    step,
)
from gnomon.runtime.model.enums import JobStatus, OnTimeout, Outcome
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.job import Budget
from gnomon.runtime.model.state import FirePhase

STOP = "run interrupted: the daemon was stopped (drain limit 30s)"


def interrupted(sim: Sim, now: float = 10) -> Sim:
    """Start the dispatched run, then interrupt it at ``now``."""
    sim(RunStarted(now=t(1), run_id=sim.run_id()))
    sim(RunFinished(now=t(now), run_id=sim.run_id(), outcome=Outcome.INTERRUPTED, error=STOP))
    return sim


def test_interrupted_run_is_uncharged_and_due_again_at_once() -> None:
    """run.interrupted; the fire waits in backoff due now, attempt and failures unchanged."""
    sim = interrupted(fired(job(budget=Budget(max_retries=0, backoff_jitter=0.0))))
    assert sim.last.event_types == (E.RUN_INTERRUPTED,)
    (event,) = sim.last.events
    assert event.outcome is Outcome.INTERRUPTED
    assert event.payload["attempt"] == 1
    assert event.message == f"{STOP}; attempt 1 runs again at the next start"
    fire = sim.state.fires[0]
    assert (fire.phase, fire.retry_at, fire.attempt, fire.started) == (
        FirePhase.BACKOFF,
        t(10),
        0,
        False,
    )
    assert (sim.state.status, sim.state.attempts, sim.state.consecutive_failures) == (
        JobStatus.PENDING,
        0,
        0,
    )
    assert sim.state.last_outcome is None


def test_after_the_restart_the_same_attempt_runs_again() -> None:
    """Recover then the due retry dispatch attempt 1 again; its success completes the job
    even with --max-retries 0."""
    sim = interrupted(fired(job(budget=Budget(max_retries=0, backoff_jitter=0.0))))
    sim(Recover(now=t(100)))
    sim(RetryDue(now=t(100), cycle=1))
    (start,) = of(sim.last.effects, StartRun)
    assert (start.attempt, start.run_id) == (1, "J.1.2")
    sim.finish(101)
    assert sim.state.status is JobStatus.COMPLETED


def test_recurring_job_keeps_its_failure_streak() -> None:
    """An interruption neither adds to nor resets a recurring job's failure streak."""
    sim = fired(job(EVERY, budget=Budget(max_retries=0, backoff_jitter=0.0)))
    sim.finish(5, Outcome.FAILED, exit_code=1)
    assert (sim.state.consecutive_failures, sim.state.fires) == (1, ())
    sim(FireDue(now=t(60), slot=t(60), next_slot=t(120)))
    interrupted(sim, now=70)
    assert sim.state.consecutive_failures == 1
    assert sim.state.last_outcome is Outcome.FAILED


def test_interrupted_fallback_runs_the_fallback_again() -> None:
    """A wait's fallback interrupted is re-queued as the fallback, still uncharged."""
    sim = waiting(OnTimeout.FALLBACK)
    sim(WaitTimedOut(now=t(100), cycle=1))
    interrupted(sim, now=101)
    fire = sim.state.fires[0]
    assert (fire.fallback, fire.attempt) == (True, 0)
    sim(RetryDue(now=t(101), cycle=1))
    (start,) = of(sim.last.effects, StartRun)
    assert start.fallback


@given(st.integers(min_value=0, max_value=4), st.integers(min_value=1, max_value=3))
def test_interruptions_never_change_the_counts(retries: int, stops: int) -> None:
    """However many stops interrupt the attempt, the next dispatch is the same attempt."""
    sim = fired(job(budget=Budget(max_retries=retries, backoff_jitter=0.0)))
    for i in range(stops):
        interrupted(sim, now=10 + i)
        sim(RetryDue(now=t(10 + i), cycle=1))
        assert of(sim.last.effects, StartRun)[0].attempt == 1
    assert sim.state.attempts == 1
    assert step(sim.state, Recover(now=t(50))).state.status is JobStatus.RUNNING
