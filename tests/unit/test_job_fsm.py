"""The pure job state machine: one test per semantic and per reference bug (16.1)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
import pytest

from gnomon.actors.core.job.fsm import (
    ORPHAN_ERROR,
    ArmTimer,
    Cancel,
    CancelTimer,
    Created,
    DependencyEnded,
    Effect,
    Expire,
    FireDue,
    JobInput,
    KillRun,
    NotifyDependents,
    Pause,
    RecordSkip,
    Recover,
    Resume,
    RetryDue,
    RunFinished,
    RunNow,
    RunStarted,
    StartRun,
    StartTriggers,
    StartWait,
    Step,
    StopWait,
    TimerKind,
    WaitPolled,
    WaitTimedOut,
    step,
    timers,
)
from gnomon.runtime.model.actions import NoopAction, ShellAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import (
    JobStatus,
    Misfire,
    OnTimeout,
    Outcome,
    Overlap,
    OwnerKind,
    SkipReason,
    TriggerRule,
    TriggersOn,
)
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.job import Budget, JobSpec, Owner, WaitSpec
from gnomon.runtime.model.schedule import (
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    Schedule,
    WhenReadySchedule,
)
from gnomon.runtime.model.state import MAX_TRANSITIONS, Dependency, FirePhase, JobState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVERY = IntervalSchedule(every=60.0, anchor=T0)
COND = TcpCondition(host="db", port=5432)
FALLBACK = NoopAction(message="fallback")
X = TypeVar("X")


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def job(
    schedule: Schedule | None = None,
    *,
    wait: WaitSpec | None = None,
    budget: Budget | None = None,
    expires_at: datetime | None = None,
    **spec: Any,
) -> JobState:
    """A fresh job ``j`` (id ``J``), one-shot at T0 unless told otherwise, no jitter."""
    full = JobSpec(
        name=spec.pop("name", "j"),
        schedule=schedule or OnceSchedule(at=T0),
        action=ShellAction(command="./backup.sh"),
        wait=wait,
        budget=budget or Budget(backoff_jitter=0.0),
        **spec,
    )
    return JobState(
        id="J",
        spec=full,
        owner=Owner(kind=OwnerKind.USER, id="alice"),
        created_at=T0,
        updated_at=T0,
        expires_at=expires_at,
    )


class Sim:
    """Feeds inputs to the machine, asserting each is accepted, and keeps the steps."""

    def __init__(self, state: JobState, *inputs: JobInput) -> None:
        self.state = state
        self.steps: list[Step] = []
        for inp in inputs:
            self(inp)

    def __call__(self, inp: JobInput) -> Step:
        result = step(self.state, inp)
        assert result.error is None, result.error
        self.state = result.state
        self.steps.append(result)
        return result

    def refuse(self, inp: JobInput) -> str:
        result = step(self.state, inp)
        assert result.error is not None
        assert result.state is self.state
        assert result.effects == ()
        return result.error

    @property
    def last(self) -> Step:
        return self.steps[-1]

    def types(self) -> list[E]:
        return [e for s in self.steps for e in s.event_types]

    def run_id(self) -> str:
        return self.started()[-1].run_id

    def started(self) -> list[StartRun]:
        return [e for s in self.steps for e in of(s.effects, StartRun)]

    def finish(self, now: float, outcome: Outcome = Outcome.SUCCESS, **kw: Any) -> Step:
        return self(RunFinished(now=t(now), run_id=self.run_id(), outcome=outcome, **kw))


def of(effects: Iterable[Effect], kind: type[X]) -> list[X]:
    return [e for e in effects if isinstance(e, kind)]


def fired(state: JobState, now: float = 0.0, **created: Any) -> Sim:
    """Create ``state`` and fire its first slot at ``now``."""
    sim = Sim(state, Created(now=T0, first_slot=created.pop("first_slot", T0), **created))
    slot = sim.state.next_fire_at
    assert slot is not None
    nxt = (
        slot + timedelta(seconds=60) if isinstance(state.spec.schedule, IntervalSchedule) else None
    )
    sim(FireDue(now=t(now), slot=slot, next_slot=nxt))
    return sim


def terminal_events(sim: Sim) -> list[E]:
    return [e.type for s in sim.steps for e in s.events if e.status and e.status.terminal]


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


# -- waits ------------------------------------------------------------------------------


def waiting(on_timeout: OnTimeout = OnTimeout.FAIL, **budget: Any) -> Sim:
    spec = WaitSpec(
        condition=COND,
        on_timeout=on_timeout,
        fallback=FALLBACK if on_timeout is OnTimeout.FALLBACK else None,
    )
    b = Budget(backoff_jitter=0.0, wait_timeout=100.0, **budget)
    return fired(job(wait=spec, budget=b))


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


# -- overlap and misfires ---------------------------------------------------------------


def busy(overlap: Overlap) -> Sim:
    """A recurring job whose first fire (slot 60) is still running at slot 120."""
    sim = fired(job(EVERY, overlap=overlap), 60, first_slot=t(60))
    sim(FireDue(now=t(120), slot=t(120), next_slot=t(180)))
    return sim


def test_overlap_skip_records_the_slot_as_skipped() -> None:
    """skip: the new slot is recorded skipped (overlap) and the next slot armed."""
    sim = busy(Overlap.SKIP)
    assert len(sim.state.fires) == 1
    assert sim.state.next_fire_at == t(180)
    assert of(sim.last.effects, RecordSkip) == [
        RecordSkip(fire_time=t(120), reason=SkipReason.OVERLAP)
    ]
    assert sim.last.events[0].payload["reason"] == "overlap"


def test_overlap_queue_holds_one_fire_and_skips_the_next() -> None:
    """queue: one fire waits behind the running one, a second is skipped, then it runs."""
    sim = busy(Overlap.QUEUE)
    assert sim.state.queued is not None
    assert sim.last.events[0].payload["queued"] is True
    sim(FireDue(now=t(180), slot=t(180), next_slot=t(240)))
    assert of(sim.last.effects, RecordSkip)[0].reason is SkipReason.OVERLAP
    sim.finish(181)
    assert sim.state.queued is None
    assert [f.fire_time for f in sim.state.fires] == [t(120)]
    assert sim.last.event_types == (E.JOB_COMPLETED, E.JOB_RUNNING)
    assert sim.started()[-1].run_id == "J.2.1"


def test_overlap_allow_runs_fires_side_by_side() -> None:
    """allow: both fires run; each ends on its own."""
    sim = busy(Overlap.ALLOW)
    assert [f.cycle for f in sim.state.fires] == [1, 2]
    sim(RunFinished(now=t(121), run_id="J.1.1", outcome=Outcome.SUCCESS))
    assert sim.state.status is JobStatus.RUNNING
    sim(RunFinished(now=t(122), run_id="J.2.1", outcome=Outcome.SUCCESS))
    assert sim.state.status is JobStatus.PENDING


def test_overlap_cancel_previous_kills_the_running_run() -> None:
    """cancel_previous: the old run is killed and its late result is ignored."""
    sim = busy(Overlap.CANCEL_PREVIOUS)
    assert of(sim.last.effects, KillRun)[0].run_id == "J.1.1"
    assert [f.cycle for f in sim.state.fires] == [2]
    assert sim.last.events[0].payload["replaced"] == [1]
    sim.refuse(RunFinished(now=t(121), run_id="J.1.1", outcome=Outcome.CANCELLED))


def test_run_now_does_not_disturb_the_schedule() -> None:
    """RunNow fires at now, leaves next_fire_at alone and arms no fire timer change."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    sim(RunNow(now=t(10)))
    assert sim.state.next_fire_at == t(60)
    assert sim.state.fires[0].manual
    assert of(sim.last.effects, ArmTimer) == []


def test_run_now_refused_by_overlap_skip_names_the_fire_in_flight() -> None:
    """A run-now while a fire is in flight under overlap=skip is refused, not skipped."""
    sim = fired(job(EVERY), 60, first_slot=t(60))
    assert sim.refuse(RunNow(now=t(61))) == (
        "cannot run job j now: fire 1 is still in flight (overlap skip)"
    )


def test_run_now_of_a_one_shot_job_keeps_its_slot() -> None:
    """A one-shot job run by hand still fires its own slot later, then ends."""
    sim = Sim(job(OnceSchedule(at=t(100))), Created(now=T0, first_slot=t(100)))
    sim(RunNow(now=t(10)))
    sim.finish(11)
    assert sim.state.status is JobStatus.PENDING
    sim(FireDue(now=t(100), slot=t(100)))
    sim.finish(101)
    assert sim.state.status is JobStatus.COMPLETED
    assert sim.state.cycle == 2


def test_queued_fire_keeps_a_one_shot_job_alive() -> None:
    """A one-shot slot queued behind a run-now runs after it; only then does the job end."""
    sim = Sim(job(OnceSchedule(at=t(60)), overlap=Overlap.QUEUE))
    sim(Created(now=T0, first_slot=t(60)))
    sim(RunNow(now=t(50)))
    sim(FireDue(now=t(60), slot=t(60)))
    assert sim.state.queued is not None
    sim.finish(61)
    assert sim.state.status is JobStatus.RUNNING
    assert sim.state.fires[0].fire_time == t(60)
    sim.finish(62)
    assert sim.state.status is JobStatus.COMPLETED
    assert terminal_events(sim) == [E.JOB_COMPLETED]


def test_paused_one_shot_slot_is_held_not_skipped() -> None:
    """A stray fire of a paused one-shot job is refused: its slot waits for resume."""
    sim = Sim(job(), Created(now=T0, first_slot=t(10)), Pause(now=t(1)))
    assert sim.refuse(FireDue(now=t(10), slot=t(10))) == (
        "job j is paused; its slot is held until it is resumed"
    )


def test_misfire_fire_once_runs_only_the_latest_missed_slot() -> None:
    """fire_once: earlier missed slots are skipped (misfire), the latest one fires."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    now = t(250)
    sim(FireDue(now=now, slot=t(60), next_slot=t(120)))
    sim(FireDue(now=now, slot=t(120), next_slot=t(180)))
    sim(FireDue(now=now, slot=t(180), next_slot=t(240)))
    assert sim.state.fires == ()
    sim(FireDue(now=now, slot=t(240), next_slot=t(300)))
    assert [f.fire_time for f in sim.state.fires] == [t(240)]
    skips = [e for s in sim.steps for e in of(s.effects, RecordSkip)]
    assert [s.fire_time for s in skips] == [t(60), t(120), t(180)]
    assert {s.reason for s in skips} == {SkipReason.MISFIRE}


def test_misfire_skip_drops_a_late_slot() -> None:
    """skip: a slot late past the grace is not run."""
    sim = Sim(job(EVERY, misfire=Misfire.SKIP), Created(now=T0, first_slot=t(60)))
    sim(FireDue(now=t(250), slot=t(60), next_slot=t(120)))
    assert sim.state.fires == ()
    assert sim.last.event_types == (E.JOB_SKIPPED,)


def test_bug_16_1_13_fire_all_is_not_fire_once() -> None:
    """fire_all fires each missed slot (side by side under overlap allow), unlike fire_once."""
    sim = Sim(job(EVERY, misfire=Misfire.FIRE_ALL, overlap=Overlap.ALLOW))
    sim(Created(now=T0, first_slot=t(60)))
    sim(FireDue(now=t(250), slot=t(60), next_slot=t(120)))
    sim(FireDue(now=t(250), slot=t(120), next_slot=t(180)))
    assert len(sim.state.fires) == 2


def test_late_within_grace_fires_normally() -> None:
    """A slot late by less than misfire_grace fires as usual."""
    sim = Sim(job(EVERY, misfire=Misfire.SKIP), Created(now=T0, first_slot=t(60)))
    sim(FireDue(now=t(119), slot=t(60), next_slot=t(120)))
    assert len(sim.state.fires) == 1


def test_missed_one_shot_slot_fires_late_under_fire_once() -> None:
    """A one-shot job missed while down still fires once (its only slot)."""
    sim = Sim(job(OnceSchedule(at=t(60))), Created(now=T0, first_slot=t(60)))
    sim(FireDue(now=t(3600), slot=t(60)))
    assert sim.state.status is JobStatus.RUNNING


def test_bug_16_1_13_misfire_skip_leaves_no_ghost_pending_job() -> None:
    """A one-shot job whose slot is dropped by misfire=skip ends skipped, not ghost-pending."""
    sim = Sim(job(misfire=Misfire.SKIP), Created(now=T0, first_slot=T0))
    sim(FireDue(now=t(3600), slot=T0))
    assert sim.state.status is JobStatus.SKIPPED
    assert terminal_events(sim) == [E.JOB_SKIPPED]


def test_stale_and_early_slots_are_refused() -> None:
    """A FireDue for a slot other than the armed one, or before it, changes nothing."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    assert "is not job j's armed slot" in sim.refuse(FireDue(now=t(60), slot=t(30)))
    assert "is not due yet" in sim.refuse(FireDue(now=t(59), slot=t(60)))


# -- pause and resume -------------------------------------------------------------------


def in_status(status: JobStatus) -> Sim:
    """A job brought to ``status`` (backoff counts as pending)."""
    deps = (Dependency(id="A", name="a"),) if status is JobStatus.BLOCKED else ()
    wait = WaitSpec(condition=COND) if status is JobStatus.WAITING else None
    sim = Sim(job(EVERY, wait=wait), Created(now=T0, first_slot=t(60), dependencies=deps))
    if status in (JobStatus.WAITING, JobStatus.RUNNING):
        sim(FireDue(now=t(60), slot=t(60), next_slot=t(120)))
    assert sim.state.status is status
    return sim


LIVE = [JobStatus.PENDING, JobStatus.BLOCKED, JobStatus.WAITING, JobStatus.RUNNING]


@pytest.mark.parametrize("status", LIVE)
def test_pause_works_in_every_live_status_and_resume_returns_there(status: JobStatus) -> None:
    """Pause from any live status remembers it; resume goes back to it."""
    sim = in_status(status)
    sim(Pause(now=t(70), reason="maintenance"))
    assert sim.state.status is JobStatus.PAUSED
    assert sim.state.paused_from is status
    assert sim.state.message == "maintenance"
    sim(Resume(now=t(80), next_slot=t(120)))
    assert sim.state.status is status
    assert sim.state.paused_from is None
    assert sim.last.events[0].type is E.JOB_RESUMED


def test_illegal_pause_and_resume_say_what_the_job_is() -> None:
    """Errors name the real status, never a misleading 'job is terminal'."""
    sim = in_status(JobStatus.RUNNING)
    assert sim.refuse(Resume(now=t(61))) == "cannot resume job j: it is running, not paused"
    sim(Pause(now=t(62)))
    assert sim.refuse(Pause(now=t(63))) == "cannot pause job j: it is already paused"
    sim(Cancel(now=t(64)))
    assert sim.refuse(Pause(now=t(65))) == "cannot pause job j: it ended cancelled"
    assert sim.refuse(Resume(now=t(65))) == "cannot resume job j: it is cancelled, not paused"
    assert sim.refuse(Cancel(now=t(65))) == "cannot cancel job j: it already ended cancelled"
    assert sim.refuse(RunNow(now=t(65))) == "cannot run job j now: it ended cancelled"


def test_no_run_starts_while_paused() -> None:
    """A retry due while paused is held; resume re-arms it and the retry then runs."""
    sim = fired(job())
    sim.finish(0, Outcome.FAILED)
    sim(Pause(now=t(0.5)))
    assert CancelTimer(kind=TimerKind.RETRY, cycle=1) in sim.last.effects
    assert "is held until resume" in sim.refuse(RetryDue(now=t(1), cycle=1))
    assert "it is paused" in sim.refuse(RunNow(now=t(2)))
    sim(Resume(now=t(10)))
    assert ArmTimer(kind=TimerKind.RETRY, at=t(1), cycle=1) in sim.last.effects
    sim(RetryDue(now=t(10), cycle=1))
    assert sim.started()[-1].attempt == 2


def test_run_in_flight_finishes_while_paused() -> None:
    """Pausing lets the run finish; a one-shot success then completes the job."""
    sim = fired(job())
    sim(Pause(now=t(1)))
    assert of(sim.last.effects, KillRun) == []
    sim.finish(2)
    assert sim.state.status is JobStatus.COMPLETED


def test_failure_while_paused_queues_the_retry_for_resume() -> None:
    """A failure while paused keeps the job paused with its retry waiting for resume."""
    sim = fired(job())
    sim(Pause(now=t(1)))
    sim.finish(2, Outcome.FAILED)
    assert sim.state.status is JobStatus.PAUSED
    assert sim.state.paused_from is JobStatus.PENDING
    assert timers(sim.state) == {}


def test_paused_recurring_slots_are_recorded_as_paused_skips() -> None:
    """While paused, each slot of a recurring job is skipped with reason paused."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)), Pause(now=t(1)))
    sim(FireDue(now=t(60), slot=t(60), next_slot=t(120)))
    assert of(sim.last.effects, RecordSkip) == [
        RecordSkip(fire_time=t(60), reason=SkipReason.PAUSED)
    ]
    assert sim.state.next_fire_at == t(120)
    assert sim.state.status is JobStatus.PAUSED


def test_a_pause_writes_one_skipped_event_with_its_count_and_first_and_last_slot() -> None:
    """Slots skipped while paused are claimed one by one but announced once, at resume:
    one job.skipped (reason paused) with the count and the first and last slot."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)), Pause(now=t(1)))
    for n in range(1, 4):
        sim(FireDue(now=t(60 * n), slot=t(60 * n), next_slot=t(60 * n + 60)))
        assert sim.last.event_types == ()
    assert sim.state.paused_skips is not None
    assert sim.state.paused_skips.count == 3
    sim(Resume(now=t(200), next_slot=t(240)))
    assert sim.last.event_types == (E.JOB_SKIPPED, E.JOB_RESUMED)
    skipped = sim.last.events[0]
    assert skipped.payload == {
        "reason": "paused",
        "count": 3,
        "first_slot": t(60).isoformat(),
        "last_slot": t(180).isoformat(),
    }
    assert (skipped.status, skipped.outcome) == (JobStatus.PAUSED, Outcome.SKIPPED)
    assert sim.state.paused_skips is None
    sim(Pause(now=t(201)))
    sim(Resume(now=t(202), next_slot=t(240)))
    assert E.JOB_SKIPPED not in sim.last.event_types  # a pause that skipped nothing


def test_a_job_ending_while_paused_writes_its_skipped_slots_first() -> None:
    """Cancelled while paused: the pause's job.skipped comes before job.cancelled."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)), Pause(now=t(1)))
    sim(FireDue(now=t(60), slot=t(60), next_slot=t(120)))
    sim(Cancel(now=t(90)))
    assert sim.last.event_types == (E.JOB_SKIPPED, E.JOB_CANCELLED)
    assert sim.last.events[0].payload["count"] == 1
    assert sim.state.paused_skips is None


def test_resumed_recurring_job_jumps_to_its_next_future_slot() -> None:
    """Resume of a recurring job whose slot passed goes to the next future slot: no storm."""
    paused = Sim(job(EVERY), Created(now=T0, first_slot=t(60)), Pause(now=t(1)))
    paused(Resume(now=t(1000), next_slot=t(1020)))
    assert paused.state.next_fire_at == t(1020)
    assert paused.state.fires == ()
    assert ArmTimer(kind=TimerKind.FIRE, at=t(1020)) in paused.last.effects


def test_paused_one_shot_job_fires_its_held_slot_on_resume() -> None:
    """A one-shot slot that passed while paused fires at resume (not a misfire)."""
    sim = Sim(job(), Created(now=T0, first_slot=t(10)), Pause(now=t(1)))
    assert timers(sim.state) == {}
    sim(Resume(now=t(5000)))
    assert sim.state.status is JobStatus.RUNNING
    assert sim.last.event_types == (E.JOB_RESUMED, E.JOB_FIRED, E.JOB_RUNNING)


def test_pause_freezes_the_wait_budget() -> None:
    """A wait paused with 90 s left resumes with 90 s left, polls kept."""
    sim = waiting()
    sim(WaitPolled(now=t(5), cycle=1, value=False))
    sim(Pause(now=t(10)))
    assert StopWait(cycle=1) in sim.last.effects
    assert "suspended" in sim.refuse(WaitPolled(now=t(11), cycle=1, value=True))
    sim(Resume(now=t(500)))
    (sw,) = of(sim.last.effects, StartWait)
    assert (sw.deadline, sw.polls) == (t(590), 1)
    assert sim.state.status is JobStatus.WAITING


def test_bug_16_1_13_paused_blocked_job_stays_blocked_on_resume() -> None:
    """A blocked job paused and resumed is still blocked: it does not skip its deps."""
    sim = in_status(JobStatus.BLOCKED)
    sim(Pause(now=t(1)))
    sim(Resume(now=t(2)))
    assert sim.state.status is JobStatus.BLOCKED
    assert timers(sim.state) == {}
    assert "blocked on its dependencies (a)" in sim.refuse(RunNow(now=t(3)))


def test_dependency_resolved_while_paused_takes_effect_on_resume() -> None:
    """A dependency completing while paused leaves the job paused, then pending on resume."""
    sim = in_status(JobStatus.BLOCKED)
    sim(Pause(now=t(1)))
    sim(DependencyEnded(now=t(2), dep_id="A", status=JobStatus.COMPLETED))
    assert sim.state.status is JobStatus.PAUSED
    assert sim.state.paused_from is JobStatus.PENDING
    assert timers(sim.state) == {(TimerKind.FIRE, None): t(60)}
    sim(Resume(now=t(3), next_slot=t(60)))
    assert sim.state.status is JobStatus.PENDING


# -- cancel and expire ------------------------------------------------------------------


def test_bug_16_1_10_cancel_kills_the_running_run() -> None:
    """Cancel of a running job kills its run, ends cancelled and tells dependents."""
    sim = fired(job())
    sim(Cancel(now=t(1), reason="wrong host"))
    assert sim.state.status is JobStatus.CANCELLED
    assert of(sim.last.effects, KillRun) == [
        KillRun(run_id="J.1.1", reason="job cancelled: wrong host")
    ]
    assert NotifyDependents(job_id="J", status=JobStatus.CANCELLED) in sim.last.effects
    sim.refuse(RunFinished(now=t(2), run_id="J.1.1", outcome=Outcome.CANCELLED))


@pytest.mark.parametrize("status", LIVE)
def test_cancel_works_in_every_live_status(status: JobStatus) -> None:
    """Cancel from any live status ends cancelled with no timer left."""
    sim = in_status(status)
    sim(Cancel(now=t(70)))
    assert sim.state.status is JobStatus.CANCELLED
    assert timers(sim.state) == {}
    assert terminal_events(sim) == [E.JOB_CANCELLED]


def test_cancel_stops_a_wait() -> None:
    """Cancelling a waiting job stops its wait."""
    sim = waiting()
    sim(Cancel(now=t(1)))
    assert StopWait(cycle=1) in sim.last.effects


def test_expire_ends_an_agent_job_with_job_expired() -> None:
    """At expires_at the job is cancelled with a job.expired event; earlier it is refused."""
    state = job(EVERY, expires_at=t(600))
    sim = Sim(state, Created(now=T0, first_slot=t(60)))
    assert ArmTimer(kind=TimerKind.EXPIRE, at=t(600)) in sim.last.effects
    assert "does not expire before" in sim.refuse(Expire(now=t(599)))
    sim(Expire(now=t(600)))
    assert sim.state.status is JobStatus.CANCELLED
    assert sim.last.event_types == (E.JOB_EXPIRED,)


# -- dependencies and triggers ----------------------------------------------------------


def test_bug_16_1_3_dependents_fail_when_dependency_fails() -> None:
    """A blocked job whose dependency fails becomes failed with the contract message."""
    sim = in_status(JobStatus.BLOCKED)
    sim(DependencyEnded(now=t(5), dep_id="A", status=JobStatus.TIMED_OUT))
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.message == "dependency failed: a ended timed_out"
    assert sim.last.event_types == (E.JOB_DEPENDENCY_FAILED,)
    assert NotifyDependents(job_id="J", status=JobStatus.FAILED) in sim.last.effects


def test_dependency_failure_reaches_a_paused_blocked_job() -> None:
    """Propagation is not held up by pause: a paused blocked job fails too."""
    sim = in_status(JobStatus.BLOCKED)
    sim(Pause(now=t(1)))
    sim(DependencyEnded(now=t(5), dep_id="A", status=JobStatus.CANCELLED))
    assert sim.state.status is JobStatus.FAILED


def test_dependency_completed_unblocks_and_fires_the_held_slot() -> None:
    """A one-shot job whose slot passed while blocked fires when its dependency completes."""
    deps = (Dependency(id="A", name="a"), Dependency(id="B", name="b"))
    sim = Sim(job(), Created(now=T0, first_slot=T0, dependencies=deps))
    sim(DependencyEnded(now=t(5), dep_id="A", status=JobStatus.COMPLETED))
    assert sim.state.status is JobStatus.BLOCKED
    assert sim.state.message == "a ended completed; waiting for b"
    sim(DependencyEnded(now=t(900), dep_id="B", status=JobStatus.COMPLETED))
    assert sim.last.event_types == (E.JOB_DEPENDENCY_RESOLVED, E.JOB_FIRED, E.JOB_RUNNING)
    assert sim.state.fires[0].fire_time == T0


def test_recurring_job_unblocked_late_goes_to_its_next_slot() -> None:
    """A recurring job unblocked after its first slot passed starts at the given next slot."""
    deps = (Dependency(id="A", name="a"),)
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60), dependencies=deps))
    sim(DependencyEnded(now=t(500), dep_id="A", status=JobStatus.COMPLETED, next_slot=t(540)))
    assert sim.state.next_fire_at == t(540)
    assert sim.state.fires == ()


def test_dependency_news_for_unknown_or_ready_jobs() -> None:
    """Unknown dependencies are refused; news for a job no longer blocked changes nothing."""
    sim = in_status(JobStatus.BLOCKED)
    assert sim.refuse(DependencyEnded(now=t(1), dep_id="Z", status=JobStatus.COMPLETED)) == (
        "job j does not depend on Z"
    )
    sim(DependencyEnded(now=t(1), dep_id="A", status=JobStatus.COMPLETED))
    again = step(sim.state, DependencyEnded(now=t(2), dep_id="A", status=JobStatus.FAILED))
    assert again.ok
    assert again.state == sim.state
    assert again.effects == ()


def test_one_failed_rule_runs_only_after_a_failure() -> None:
    """A one_failed job is skipped when its dependency succeeds."""
    deps = (Dependency(id="A", name="a"),)
    sim = Sim(
        job(trigger_rule=TriggerRule.ONE_FAILED), Created(now=T0, first_slot=T0, dependencies=deps)
    )
    sim(DependencyEnded(now=t(5), dep_id="A", status=JobStatus.COMPLETED))
    assert sim.state.status is JobStatus.SKIPPED
    assert sim.last.events[0].payload["reason"] == "policy"


def test_triggers_start_when_a_one_shot_job_succeeds() -> None:
    """On success the trigger templates are started with lineage and a job.triggered event."""
    state = job()
    sim = fired(attrs.evolve(state, trigger_ids=("T1", "T2")))
    sim.finish(1)
    assert of(sim.last.effects, StartTriggers) == [
        StartTriggers(parent_id="J", templates=("T1", "T2"), cycle=1, fire_time=T0,
                      status=JobStatus.COMPLETED)
    ]  # fmt: skip
    assert sim.last.event_types == (E.JOB_COMPLETED, E.JOB_TRIGGERED)


def test_bug_16_1_20_recurring_cycles_and_failures_fire_triggers() -> None:
    """Every recurring cycle can trigger, and triggers_on=failure fires on failed cycles."""
    state = attrs.evolve(
        job(EVERY, triggers_on=TriggersOn.FAILURE, budget=Budget(max_retries=0)),
        trigger_ids=("T",),
    )
    sim = fired(state, 60, first_slot=t(60))
    sim.finish(61)
    assert of(sim.last.effects, StartTriggers) == []
    sim(FireDue(now=t(120), slot=t(120), next_slot=t(180)))
    sim.finish(121, Outcome.FAILED)
    assert len(of(sim.last.effects, StartTriggers)) == 1


def test_triggered_run_now_records_its_parent() -> None:
    """A run-now from a trigger names the parent in job.fired."""
    sim = Sim(job(ManualSchedule()), Created(now=T0))
    sim(RunNow(now=t(1), trigger="P"))
    assert sim.last.events[0].payload["trigger"] == "P"


# -- recovery ---------------------------------------------------------------------------


def test_bug_16_1_4_replayed_waiting_job_resumes_its_wait() -> None:
    """Recover of a waiting job restarts polling with the same deadline and poll count."""
    sim = waiting()
    sim(WaitPolled(now=t(5), cycle=1, value=False))
    rec = step(sim.state, Recover(now=t(40)))
    assert rec.ok
    assert rec.state == sim.state
    (sw,) = of(rec.effects, StartWait)
    assert (sw.deadline, sw.polls) == (t(100), 1)
    assert ArmTimer(kind=TimerKind.WAIT, at=t(100), cycle=1) in rec.effects
    assert rec.events == ()


def test_bug_16_1_5_restart_does_not_time_out_a_wait_with_budget_left() -> None:
    """A shutdown mid-wait is not a timeout: after recover the condition can still hold."""
    sim = waiting()
    sim(Recover(now=t(50)))
    assert sim.state.status is JobStatus.WAITING
    sim(WaitPolled(now=t(55), cycle=1, value=True))
    sim.finish(56)
    assert sim.state.status is JobStatus.COMPLETED


def test_recover_treats_a_started_run_as_an_orphan_and_retries() -> None:
    """A run in flight at the crash is orphaned: run.orphaned, then the retry policy."""
    sim = fired(job())
    sim(RunStarted(now=t(1), run_id="J.1.1"))
    rec = sim(Recover(now=t(30)))
    assert rec.event_types == (E.RUN_ORPHANED, E.JOB_RETRY_QUEUED)
    assert sim.state.fires[0].retry_at == t(31)
    live = step(step(fired(job()).state, RunStarted(now=t(1), run_id="J.1.1")).state,
                RunFinished(now=t(30), run_id="J.1.1", outcome=Outcome.FAILED, error=ORPHAN_ERROR,
                            transient=True))  # fmt: skip
    assert rec.state == live.state


def test_recover_orphan_without_retries_left_fails() -> None:
    """An orphan of the last allowed attempt fails the fire with the orphan message."""
    sim = fired(job(budget=Budget(max_retries=0)))
    sim(RunStarted(now=t(1), run_id="J.1.1"))
    sim(Recover(now=t(30)))
    assert sim.state.status is JobStatus.FAILED
    assert sim.state.message == ORPHAN_ERROR


def test_recover_redispatches_a_run_that_never_started() -> None:
    """A dispatched run never reported started is issued again, same id and attempt."""
    sim = fired(job())
    rec = step(sim.state, Recover(now=t(5)))
    assert rec.state == sim.state
    assert of(rec.effects, StartRun) == of(sim.last.effects, StartRun)


def test_recover_while_paused_holds_an_unstarted_run() -> None:
    """A paused job's unstarted run is not re-issued; it runs, uncharged, on resume."""
    sim = fired(job())
    sim(Pause(now=t(1)))
    sim(Recover(now=t(5)))
    assert of(sim.last.effects, StartRun) == []
    assert sim.state.fires[0].attempt == 0
    sim(Resume(now=t(6)))
    sim(RetryDue(now=t(6), cycle=1))
    assert sim.started()[-1].attempt == 1


def test_recover_rearms_every_timer_the_live_actor_holds() -> None:
    """Recover re-arms exactly timers(state): fire slot, retry and expiry."""
    state = job(EVERY, overlap=Overlap.ALLOW, expires_at=t(10_000))
    sim = fired(state, 60, first_slot=t(60))
    sim.finish(61, Outcome.FAILED)
    rec = step(sim.state, Recover(now=t(62)))
    armed = {(a.kind, a.cycle): a.at for a in of(rec.effects, ArmTimer)}
    assert armed == timers(sim.state)
    assert set(armed) == {(TimerKind.FIRE, None), (TimerKind.RETRY, 1), (TimerKind.EXPIRE, None)}


def test_recover_applies_a_lost_dependency_notification() -> None:
    """Recover with the dependencies' current statuses unblocks a job whose news was lost."""
    sim = in_status(JobStatus.BLOCKED)
    done = (Dependency(id="A", name="a", status=JobStatus.COMPLETED),)
    sim(Recover(now=t(5), dependencies=done))
    assert sim.state.status is JobStatus.PENDING


def test_recover_that_unblocks_a_due_job_dispatches_its_run_once() -> None:
    """A blocked one-shot job whose slot passed and whose dependency ended while its news
    was lost fires at recovery with exactly one StartRun (found by the engine tests: the
    new fire was also "recovered" and dispatched a second time under the same run id)."""
    deps = (Dependency(id="A", name="a"),)
    sim = Sim(job(), Created(now=T0, first_slot=T0, dependencies=deps))
    assert sim.state.status is JobStatus.BLOCKED
    done = (Dependency(id="A", name="a", status=JobStatus.COMPLETED),)
    rec = sim(Recover(now=t(5), dependencies=done))
    assert sim.state.status is JobStatus.RUNNING
    assert len(of(rec.effects, StartRun)) == 1


def test_recover_of_a_terminal_job_does_nothing() -> None:
    """A terminal job recovers to itself with no effects."""
    sim = fired(job())
    sim.finish(1)
    rec = step(sim.state, Recover(now=t(5)))
    assert (rec.state, rec.effects, rec.error) == (sim.state, (), None)


def test_recover_past_expiry_expires() -> None:
    """A job whose TTL ran out while the daemon was down expires at recovery."""
    sim = Sim(job(EVERY, expires_at=t(100)), Created(now=T0, first_slot=t(60)))
    sim(Recover(now=t(200)))
    assert sim.last.event_types == (E.JOB_EXPIRED,)


# -- transitions ------------------------------------------------------------------------


def test_transitions_keep_the_last_64_with_reasons() -> None:
    """Only the last 64 transitions are kept; each has a reason and the right endpoints."""
    sim = Sim(job(EVERY), Created(now=T0, first_slot=t(60)))
    for i in range(40):
        sim(Pause(now=t(i + 1), reason=f"p{i}"))
        sim(Resume(now=t(i + 1)))
    trs = sim.state.transitions
    assert len(trs) == MAX_TRANSITIONS
    assert trs[-1].reason == "resumed"
    assert trs[-2].reason == "p39"
    assert all(a.to_status is b.from_status for a, b in itertools.pairwise(trs))


def test_wait_timeout_message_names_the_last_poll_result() -> None:
    """A wait that times out says what the last poll saw (why it polled in vain)."""
    sim = waiting()
    sim(WaitPolled(now=t(5), cycle=1, value=False, summary="tcp://db:5432: connection refused"))
    sim(WaitTimedOut(now=t(100), cycle=1))
    assert sim.state.message.endswith("(1 poll(s), last: tcp://db:5432: connection refused)"), (
        sim.state.message
    )
