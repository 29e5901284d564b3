"""The pure job state machine (actors/core/job/fsm.py): slots, overlap policies (skip,
queue, allow, cancel_previous), run-now, misfires (fire_once, skip, fire_all, grace) and
stale or early slots. One test per semantic and per reference bug (16.1)."""

from __future__ import annotations

from support.fsm_kit import EVERY, T0, Sim, fired, job, of, t, terminal_events

from gnomon.actors.core.job.fsm import (
    ArmTimer,
    Created,
    FireDue,
    KillRun,
    Pause,
    RecordSkip,
    RunFinished,
    RunNow,
)
from gnomon.runtime.model.enums import JobStatus, Misfire, Outcome, Overlap, SkipReason
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.schedule import OnceSchedule

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
