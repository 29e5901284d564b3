"""The pure job state machine (actors/core/job/fsm.py): creation, a fire and its run,
run outcomes, retries and backoff (Retry-After, jitter, breaker_open), recurring cycles and
the transition log. One test per semantic and per reference bug (16.1)."""

from __future__ import annotations

import itertools

from support.fsm_kit import COND, EVERY, T0, Sim, fired, job, of, t, terminal_events

from gnomon.actors.core.job.fsm import (
    ArmTimer,
    CancelTimer,
    Created,
    FireDue,
    NotifyDependents,
    Pause,
    RecordSkip,
    Resume,
    RetryDue,
    RunFinished,
    RunNow,
    RunStarted,
    StartRun,
    TimerKind,
    timers,
)
from gnomon.runtime.model.enums import JobStatus, Outcome, SkipReason
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.job import Budget, WaitSpec
from gnomon.runtime.model.schedule import ManualSchedule, WhenReadySchedule
from gnomon.runtime.model.state import MAX_TRANSITIONS, Dependency, FirePhase

# -- creation ---------------------------------------------------------------------------


def test_created_job_is_pending_with_its_first_slot_armed() -> None:
    """Created: pending, next_fire_at = the given slot, one FIRE timer, job.created."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    assert sim.state.status is JobStatus.PENDING
    assert sim.state.next_fire_at == t(60)
    assert sim.last.event_types == (E.JOB_CREATED,)
    assert of(sim.last.effects, ArmTimer) == [ArmTimer(kind=TimerKind.FIRE, at=t(60))]


def test_created_with_open_dependencies_is_blocked_and_arms_nothing() -> None:
    """Created with an unfinished dependency: blocked, no fire timer."""
    deps = (Dependency(id="A", name="a"),)
    sim = Sim(job(), Created(now=T0, first_slot=T0, dependencies=deps))
    assert sim.state.status is JobStatus.BLOCKED
    assert sim.state.message == "waiting for a"
    assert of(sim.last.effects, ArmTimer) == []


def test_created_with_a_failed_dependency_fails_at_once() -> None:
    """A dependency that already failed fails the new job, which tells its own dependents."""
    deps = (Dependency(id="A", name="a", status=JobStatus.FAILED),)
    sim = Sim(job(), Created(now=T0, first_slot=T0, dependencies=deps))
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.message == "dependency failed: a ended failed"
    assert sim.last.event_types == (E.JOB_CREATED, E.JOB_DEPENDENCY_FAILED)
    assert of(sim.last.effects, NotifyDependents) == [
        NotifyDependents(job_id="J", status=JobStatus.FAILED)
    ]


def test_created_twice_is_refused() -> None:
    """A second Created is an error, not a reset."""
    sim = Sim(job(), Created(now=T0, first_slot=T0))
    assert sim.refuse(Created(now=T0, first_slot=T0)) == "job j was already created (it is pending)"


def test_bug_16_1_19_manual_job_never_fires_by_itself() -> None:
    """A manual job ignores any first slot, arms no timer, and fires only on RunNow."""
    sim = Sim(job(ManualSchedule()), Created(now=T0, first_slot=T0))
    assert sim.state.next_fire_at is None
    assert timers(sim.state) == {}
    assert "manual schedule" in sim.refuse(FireDue(now=T0, slot=T0))
    sim(RunNow(now=t(5)))
    sim.finish(6)
    assert sim.state.status is JobStatus.PENDING
    assert sim.state.cycle == 1


def test_when_ready_job_fires_at_creation() -> None:
    """A when_ready job's only slot is its creation time: it starts waiting at once."""
    sim = Sim(job(WhenReadySchedule(), wait=WaitSpec(condition=COND)), Created(now=t(3)))
    assert sim.state.next_fire_at == t(3)
    sim(FireDue(now=t(3), slot=t(3)))
    assert sim.state.status is JobStatus.WAITING


# -- fire, run, retry -------------------------------------------------------------------


def test_fire_runs_attempt_one_with_run_events_carrying_ids() -> None:
    """A fire emits job.fired (fire_time) and job.running (run_id, attempt) and starts a run."""
    sim = fired(job())
    assert sim.state.status is JobStatus.RUNNING
    fired_ev, running = sim.last.events
    assert fired_ev.type is E.JOB_FIRED
    assert fired_ev.payload["fire_time"] == T0.isoformat()
    assert running.type is E.JOB_RUNNING
    assert running.payload["run_id"] == "J.1.1"
    assert running.payload["attempt"] == 1
    (run,) = of(sim.last.effects, StartRun)
    assert (run.run_id, run.attempt, run.fallback, run.timeout) == ("J.1.1", 1, False, 300.0)


def test_success_completes_a_one_shot_job_exactly_once() -> None:
    """Success: completed, finished_at set, dependents told, one terminal event in all."""
    sim = fired(job())
    sim(RunStarted(now=t(1), run_id="J.1.1"))
    sim.finish(2)
    assert sim.state.status is JobStatus.COMPLETED
    assert sim.state.finished_at == t(2)
    assert sim.state.last_outcome is Outcome.SUCCESS
    assert terminal_events(sim) == [E.JOB_COMPLETED]
    assert of(sim.last.effects, NotifyDependents) == [
        NotifyDependents(job_id="J", status=JobStatus.COMPLETED)
    ]
    assert timers(sim.state) == {}


def test_action_timeout_is_timed_out_not_failed() -> None:
    """An action that times out ends the job timed_out with outcome timeout."""
    sim = fired(job(budget=Budget(max_retries=0)))
    sim.finish(300, Outcome.TIMEOUT)
    assert sim.state.status is JobStatus.TIMED_OUT
    assert sim.state.last_outcome is Outcome.TIMEOUT
    assert sim.state.message == "the action timed out"
    assert sim.last.event_types == (E.JOB_TIMED_OUT,)


def test_failures_retry_with_backoff_until_retries_are_exhausted() -> None:
    """Defaults without jitter: retries at +1, +2, +4 s; the 4th failure fails the job."""
    sim = fired(job())
    now = 0.0
    for n, delay in enumerate([1.0, 2.0, 4.0], start=1):
        sim.finish(now, Outcome.FAILED, exit_code=1)
        assert sim.state.status is JobStatus.PENDING
        assert sim.last.event_types == (E.JOB_RETRY_QUEUED,)
        assert sim.last.events[0].payload["delay"] == delay
        assert of(sim.last.effects, ArmTimer) == [
            ArmTimer(kind=TimerKind.RETRY, at=t(now + delay), cycle=1)
        ]
        now += delay
        sim(RetryDue(now=t(now), cycle=1))
        assert sim.started()[-1].attempt == n + 1
    sim.finish(now, Outcome.FAILED, exit_code=1)
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.message == "retries exhausted after 4 attempts: exit code 1"
    assert len(sim.started()) == 4


def test_retry_three_times_from_ten_seconds_attempts_at_0_10_30_70() -> None:
    """With a 10 s base and instant failing runs, attempts start at t = 0, 10, 30, 70."""
    sim = fired(job(budget=Budget(backoff_initial=10.0, backoff_jitter=0.0)))
    starts = [0.0]
    for _ in range(3):
        sim.finish(starts[-1], Outcome.FAILED)
        retry_at = sim.state.fires[0].retry_at
        assert retry_at is not None
        sim(RetryDue(now=retry_at, cycle=1))
        starts.append((retry_at - T0).total_seconds())
    assert starts == [0.0, 10.0, 30.0, 70.0]


def test_bug_16_2_non_transient_failures_are_retried() -> None:
    """A permanent-looking failure (non-zero exit, transient=False) is retried per policy."""
    sim = fired(job())
    sim.finish(0, Outcome.FAILED, exit_code=2, transient=False)
    assert sim.state.fires[0].phase is FirePhase.BACKOFF
    assert sim.last.events[0].payload["transient"] is False


def test_bug_16_2_max_retries_zero_fails_on_the_first_failure() -> None:
    """max_retries=0 is expressible: no retry, the error itself is the message."""
    sim = fired(job(budget=Budget(max_retries=0)))
    sim.finish(1, Outcome.FAILED, error="boom")
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.message == "boom"


def test_retry_after_hint_lengthens_the_backoff() -> None:
    """A target's Retry-After longer than the backoff wins."""
    sim = fired(job())
    sim.finish(0, Outcome.FAILED, retry_after=30.0, transient=True)
    assert sim.state.fires[0].retry_at == t(30)
    assert sim.last.events[0].payload["transient"] is True


def test_retry_jitter_is_deterministic_for_replay() -> None:
    """The jittered delay is a function of (job, cycle, attempt): same inputs, same delay."""
    base = job(budget=Budget())
    a, b = fired(base), fired(base)
    a.finish(0, Outcome.FAILED)
    b.finish(0, Outcome.FAILED)
    assert a.state.fires[0].retry_at == b.state.fires[0].retry_at
    assert a.state.fires[0].retry_at != t(1)


def test_breaker_open_defers_without_spending_a_retry() -> None:
    """breaker_open: not charged, retried when the breaker reopens, same attempt number."""
    sim = fired(job(budget=Budget(max_retries=0)))
    sim.finish(0, Outcome.BREAKER_OPEN, retry_after=30.0)
    assert sim.state.status is JobStatus.PENDING
    assert sim.state.fires[0].attempt == 0
    assert sim.last.events[0].payload["charged"] is False
    sim(RetryDue(now=t(30), cycle=1))
    assert sim.started()[-1].attempt == 1
    assert sim.started()[-1].run_id == "J.1.2"


def test_breaker_open_past_the_next_slot_skips_the_recurring_fire() -> None:
    """A recurring fire that could only retry after its next slot is skipped instead."""
    sim = fired(job(EVERY), now=60, first_slot=t(60))
    sim.finish(61, Outcome.BREAKER_OPEN, retry_after=100.0)
    assert sim.state.fires == ()
    assert sim.state.status is JobStatus.PENDING
    assert of(sim.last.effects, RecordSkip) == [
        RecordSkip(fire_time=t(60), reason=SkipReason.BREAKER_OPEN)
    ]


def test_unexpected_cancelled_outcome_counts_as_a_failed_attempt() -> None:
    """A run that ends cancelled without the machine killing it is retried per policy."""
    sim = fired(job())
    sim.finish(0, Outcome.CANCELLED)
    assert sim.state.fires[0].phase is FirePhase.BACKOFF
    assert "the run was cancelled" in sim.state.message


def test_stale_run_results_are_refused() -> None:
    """A result for a run that is not in flight is an error and changes nothing."""
    sim = fired(job())
    msg = sim.refuse(RunFinished(now=t(1), run_id="J.9.9", outcome=Outcome.SUCCESS))
    assert msg == "run J.9.9 is not in flight for job j"
    sim(RunStarted(now=t(1), run_id="J.1.1"))
    assert "already reported started" in sim.refuse(RunStarted(now=t(1), run_id="J.1.1"))


# -- recurring jobs ---------------------------------------------------------------------


def test_bug_16_1_9_recurring_job_survives_a_failed_cycle() -> None:
    """A recurring fire that fails for good records the failure and keeps the schedule."""
    sim = fired(job(EVERY, budget=Budget(max_retries=0)), now=60, first_slot=t(60))
    sim.finish(61, Outcome.FAILED, error="exit 2")
    assert sim.state.status is JobStatus.PENDING
    assert sim.state.next_fire_at == t(120)
    assert sim.state.consecutive_failures == 1
    assert sim.last.events[0].type is E.JOB_FAILED
    assert sim.last.events[0].status is JobStatus.PENDING
    sim(FireDue(now=t(120), slot=t(120), next_slot=t(180)))
    sim.finish(121)
    assert sim.state.consecutive_failures == 0
    assert sim.state.cycle == 2


def test_stop_on_failure_makes_a_recurring_job_terminal() -> None:
    """With stop_on_failure, a failed cycle ends the job failed and disarms its timer."""
    sim = fired(
        job(EVERY, budget=Budget(max_retries=0), stop_on_failure=True), 60, first_slot=t(60)
    )
    sim.finish(61, Outcome.FAILED)
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.next_fire_at is None
    assert CancelTimer(kind=TimerKind.FIRE) in sim.last.effects


def test_recurring_cycle_success_emits_completed_but_stays_live() -> None:
    """Each recurring success emits job.completed with the job still pending."""
    sim = fired(job(EVERY), 60, first_slot=t(60))
    sim.finish(61)
    (ev,) = sim.last.events
    assert (ev.type, ev.status, ev.payload["cycle"]) == (E.JOB_COMPLETED, JobStatus.PENDING, 1)


def test_recurring_job_with_no_slot_left_ends_after_its_last_fire() -> None:
    """When the schedule has no next slot, the last fire's end ends the job."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    sim(FireDue(now=t(60), slot=t(60), next_slot=None))
    sim.finish(61)
    assert sim.state.status is JobStatus.COMPLETED


# -- transitions ------------------------------------------------------------------------


def test_transitions_keep_the_last_16_with_reasons() -> None:
    """Only the last 16 transitions are kept; each has a reason and the right endpoints."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    for i in range(40):
        sim(Pause(now=t(i + 1), reason=f"p{i}"))
        sim(Resume(now=t(i + 1)))
    trs = sim.state.transitions
    assert len(trs) == MAX_TRANSITIONS == 16
    assert trs[0].reason == "p32"  # the 8 newest pauses and resumes
    assert trs[-1].reason == "resumed"
    assert trs[-2].reason == "p39"
    assert all(a.to_status is b.from_status for a, b in itertools.pairwise(trs))
