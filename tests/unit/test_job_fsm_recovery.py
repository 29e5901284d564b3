"""The pure job state machine (actors/core/job/fsm.py): Recover after a restart (resumed
waits, orphaned and undispatched runs, re-armed timers, lost dependency news, expiry). One
test per semantic and per reference bug (16.1)."""

from __future__ import annotations

from support.fsm_kit import EVERY, T0, Sim, fired, in_status, job, of, t, waiting

from gnomon.actors.core.job.fsm import (
    ORPHAN_ERROR,
    ArmTimer,
    Created,
    Pause,
    Recover,
    Resume,
    RetryDue,
    RunFinished,
    RunStarted,
    StartRun,
    StartWait,
    TimerKind,
    WaitPolled,
    step,
    timers,
)
from gnomon.runtime.model.enums import JobStatus, Outcome, Overlap
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.job import Budget
from gnomon.runtime.model.state import Dependency

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
