"""The pure job state machine (actors/core/job/fsm.py): waits on a condition, their
polls, deadlines, max_polls and on_timeout policies (fail, fire_anyway, fallback). One test
per semantic and per reference bug (16.1)."""

from __future__ import annotations

from support.fsm_kit import FALLBACK, T0, of, t, terminal_events, waiting

from gnomon.actors.core.job.fsm import (
    ArmTimer,
    CancelTimer,
    RetryDue,
    StartRun,
    StartWait,
    StopWait,
    TimerKind,
    WaitPolled,
    WaitTimedOut,
)
from gnomon.runtime.model.enums import JobStatus, OnTimeout, Outcome
from gnomon.runtime.model.events import EventType as E

# -- waits ------------------------------------------------------------------------------


def test_wait_polls_until_the_condition_holds_then_runs() -> None:
    """Waiting: job.wait_started, ticks for false polls, then wait_satisfied and attempt 1."""
    sim = waiting()
    assert sim.state.status is JobStatus.WAITING
    assert sim.last.event_types == (E.JOB_FIRED, E.JOB_WAIT_STARTED)
    (sw,) = of(sim.last.effects, StartWait)
    assert (sw.deadline, sw.poll_interval, sw.polls) == (t(100), 5.0, 0)
    assert ArmTimer(kind=TimerKind.WAIT, at=t(100), cycle=1) in sim.last.effects
    sim(WaitPolled(now=t(5), cycle=1, value=False, summary="connection refused"))
    assert sim.last.event_types == (E.JOB_WAIT_TICK,)
    sim(WaitPolled(now=t(10), cycle=1, value=True))
    assert sim.last.event_types == (E.JOB_WAIT_SATISFIED, E.JOB_RUNNING)
    assert sim.state.status is JobStatus.RUNNING
    assert CancelTimer(kind=TimerKind.WAIT, cycle=1) in sim.last.effects


def test_bug_16_1_8_an_error_poll_never_satisfies_the_wait() -> None:
    """An evaluation error is not true: transient polls again, permanent fails the fire."""
    sim = waiting()
    sim(WaitPolled(now=t(5), cycle=1, value=None, summary="timeout", transient=True))
    assert sim.state.status is JobStatus.WAITING
    assert sim.last.events[0].payload["result"] == "error"
    sim(WaitPolled(now=t(10), cycle=1, value=None, summary="bad regex", transient=False))
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.message == "wait failed: bad regex"
    assert of(sim.started(), StartRun) == []


def test_on_timeout_fail_ends_timed_out() -> None:
    """Wait deadline with on_timeout=fail: timed_out, one job.timed_out event, no run."""
    sim = waiting()
    assert "runs until" in sim.refuse(WaitTimedOut(now=t(50), cycle=1))
    sim(WaitTimedOut(now=t(100), cycle=1))
    assert sim.state.status is JobStatus.TIMED_OUT
    assert sim.state.last_outcome is Outcome.TIMEOUT
    assert terminal_events(sim) == [E.JOB_TIMED_OUT]
    assert sim.started() == []


def test_on_timeout_fire_anyway_runs_the_action() -> None:
    """fire_anyway: the action runs after the deadline and its success completes the job."""
    sim = waiting(OnTimeout.FIRE_ANYWAY)
    sim(WaitTimedOut(now=t(100), cycle=1))
    assert sim.state.status is JobStatus.RUNNING
    assert "firing anyway" in sim.state.message
    sim.finish(101)
    assert sim.state.status is JobStatus.COMPLETED


def test_bug_16_1_12_fallback_ends_timed_out() -> None:
    """fallback: the fallback runs as its own run and the job ends timed_out even on success."""
    sim = waiting(OnTimeout.FALLBACK)
    sim(WaitTimedOut(now=t(100), cycle=1))
    (run,) = sim.started()
    assert run.fallback
    assert run.action == FALLBACK
    sim.finish(101)
    assert sim.state.status is JobStatus.TIMED_OUT
    assert sim.state.message == "wait timed out; fallback succeeded"
    assert sim.types().count(E.JOB_TIMED_OUT) == 1
    assert sim.last.events[0].payload == {
        "fire_time": T0.isoformat(),
        "cycle": 1,
        "run_id": "J.1.1",
        "attempt": 1,
        "consecutive_failures": 1,
    }


def test_failed_fallback_is_not_retried_and_still_ends_timed_out() -> None:
    """A failing fallback runs once and the job still ends timed_out."""
    sim = waiting(OnTimeout.FALLBACK)
    sim(WaitTimedOut(now=t(100), cycle=1))
    sim.finish(101, Outcome.FAILED, error="exit 1")
    assert sim.state.status is JobStatus.TIMED_OUT
    assert sim.state.message == "wait timed out; fallback ended failed: exit 1"


def test_max_polls_applies_the_on_timeout_policy() -> None:
    """Reaching max_polls without success is a wait timeout."""
    sim = waiting(max_polls=2)
    sim(WaitPolled(now=t(5), cycle=1, value=False))
    sim(WaitPolled(now=t(10), cycle=1, value=False))
    assert sim.state.status is JobStatus.TIMED_OUT
    assert "after 2 poll(s) (max_polls)" in sim.state.message
    assert StopWait(cycle=1) in sim.last.effects


def test_retries_rerun_the_action_not_the_wait() -> None:
    """After the condition held once, a failed attempt retries the action directly."""
    sim = waiting()
    sim(WaitPolled(now=t(5), cycle=1, value=True))
    sim.finish(6, Outcome.FAILED)
    sim(RetryDue(now=t(7), cycle=1))
    assert sim.state.status is JobStatus.RUNNING
    assert of(sim.last.effects, StartWait) == []


def test_wait_timeout_message_names_the_last_poll_result() -> None:
    """A wait that times out says what the last poll saw (why it polled in vain)."""
    sim = waiting()
    sim(WaitPolled(now=t(5), cycle=1, value=False, summary="tcp://db:5432: connection refused"))
    sim(WaitTimedOut(now=t(100), cycle=1))
    assert sim.state.message.endswith("(1 poll(s), last: tcp://db:5432: connection refused)"), (
        sim.state.message
    )
