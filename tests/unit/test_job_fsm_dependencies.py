"""The pure job state machine (actors/core/job/fsm.py): dependencies (blocked, resolved,
failed, trigger rules) and the triggers a finished fire starts. One test per semantic and
per reference bug (16.1)."""

from __future__ import annotations

import attrs
from support.fsm_kit import EVERY, T0, Sim, fired, in_status, job, of, t

from gnomon.actors.core.job.fsm import (
    Created,
    DependencyEnded,
    FireDue,
    NotifyDependents,
    Pause,
    RunNow,
    StartTriggers,
    step,
)
from gnomon.runtime.model.enums import JobStatus, Outcome, TriggerRule, TriggersOn
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.job import Budget
from gnomon.runtime.model.schedule import ManualSchedule
from gnomon.runtime.model.state import Dependency

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
