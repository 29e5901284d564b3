"""The pure job state machine (actors/core/job/fsm.py): the pause, resume and cancel
commands in every live status, slots skipped while paused, and expiry. One test per
semantic and per reference bug (16.1)."""

from __future__ import annotations

import pytest
from support.fsm_kit import (
    EVERY,
    LIVE,
    T0,
    Sim,
    fired,
    in_status,
    job,
    of,
    t,
    terminal_events,
    waiting,
)

from gnomon.actors.core.job.fsm import (
    ArmTimer,
    Cancel,
    CancelTimer,
    Created,
    DependencyEnded,
    Expire,
    FireDue,
    KillRun,
    NotifyDependents,
    Pause,
    RecordSkip,
    Resume,
    RetryDue,
    RunFinished,
    RunNow,
    StartWait,
    StopWait,
    TimerKind,
    WaitPolled,
    timers,
)
from gnomon.runtime.model.enums import JobStatus, Outcome, SkipReason
from gnomon.runtime.model.events import EventType as E

# -- pause and resume -------------------------------------------------------------------


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
