"""Slots that come due together while a fire is in flight (actors/core/job/slots.py,
``overlapping``): an engine behind by several periods skips them as one counted
``job.skipped`` (reason ``overlap``) — the same slots, the same next slot and the same
state as judging them one by one, which wrote one event (and one claim) per slot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st
from support.fsm_kit import EVERY, Sim, fired, job, t

from gnomon.actors.core.job.fsm import FireDue, RecordSkip, step
from gnomon.actors.core.job.slots import overlapping
from gnomon.runtime.model.enums import JobStatus, Misfire, Overlap, SkipReason
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.model.schedule import IntervalSchedule, Schedule
from gnomon.runtime.model.state import JobState


def running(schedule: Schedule = EVERY, **spec: Any) -> Sim:
    """Job ``j`` every 60 s, its fire of slot 60 in flight; its next slot is 120 (a
    misfire grace of 10 min unless told)."""
    spec.setdefault("misfire_grace", 600.0)
    return fired(job(schedule, **spec), 60, first_slot=t(60))


def one_by_one(state: JobState, now: datetime) -> tuple[JobState, list[datetime]]:
    """Ring every slot due by ``now`` the way a ring without the merge would: each its
    own ``FireDue``; the final state and the slots recorded skipped."""
    skipped: list[datetime] = []
    while state.next_fire_at is not None and state.next_fire_at <= now:
        slot = state.next_fire_at
        result = step(state, FireDue(now=now, slot=slot, next_slot=next_fire(EVERY, slot)))
        assert result.error is None, result.error
        skipped += [e.fire_time for e in result.effects if isinstance(e, RecordSkip)]
        state = result.state
    return state, skipped


def test_three_slots_due_while_a_fire_runs_are_one_event() -> None:
    """Slots 120, 180 and 240 due at 250 behind fire 1: one job.skipped that counts 3 and
    names the first and last, one claim (the first slot), the next slot 300 armed."""
    sim = running()
    inp = overlapping(sim.state, t(120), t(250), t(120))
    assert inp is not None
    assert (inp.missed, inp.last_missed, inp.next_slot) == (3, t(240), t(300))
    sim(inp)
    (event,) = sim.last.events
    assert event.type == E.JOB_SKIPPED
    assert event.payload["reason"] == "overlap"
    assert event.payload["count"] == 3
    assert event.payload["last_slot"] == t(240).isoformat()
    assert event.payload["fire_time"] == t(120).isoformat()
    assert event.payload["until"] == t(300).isoformat()  # every slot before it: skipped
    assert "3 slot(s) skipped at once" in event.message
    assert "fire 1 is still in flight" in event.message
    assert [e for e in sim.last.effects if isinstance(e, RecordSkip)] == [
        RecordSkip(fire_time=t(120), reason=SkipReason.OVERLAP)
    ]
    assert sim.state.next_fire_at == t(300)
    assert sim.state.status is JobStatus.RUNNING
    assert len(sim.state.fires) == 1


@given(periods=st.integers(min_value=2, max_value=40), into=st.floats(0.0, 59.0))
def test_merged_skip_matches_judging_slot_by_slot(periods: int, into: float) -> None:
    """For any lateness of 2–40 periods (within the misfire grace): the same slots are
    skipped (the event's count and span are the one-by-one claims), the same next slot,
    and the same state but for the time of its last change."""
    sim = running(misfire_grace=3600.0)
    now = t(60 + 60 * periods + into)  # slots 120 … 60·(periods+1) are due
    inp = overlapping(sim.state, t(120), now, t(120))
    assert inp is not None
    merged = step(sim.state, inp)
    assert merged.error is None
    slow, slots = one_by_one(sim.state, now)
    (event,) = merged.events
    assert event.payload["count"] == len(slots) == periods
    assert event.payload["fire_time"] == slots[0].isoformat()
    assert event.payload["last_slot"] == slots[-1].isoformat()
    assert attrs.evolve(merged.state, updated_at=slow.updated_at) == slow


def test_slots_judged_one_by_one_where_each_has_its_own_reason() -> None:
    """No merge (``None``) when a slot would not be a plain overlap skip: nothing in
    flight, another overlap policy, a jittered or cron-like schedule, an exclusion
    calendar, an expiry among the slots, a paused job, beyond the misfire grace under
    fire_once, or one slot."""
    now = t(250)
    idle = attrs.evolve(Sim(job(EVERY, misfire_grace=600.0)).state, next_fire_at=t(120))
    assert overlapping(idle, t(120), now, t(120)) is None
    for overlap in (Overlap.ALLOW, Overlap.QUEUE, Overlap.CANCEL_PREVIOUS):
        assert overlapping(running(overlap=overlap).state, t(120), now, t(120)) is None
    jittered = IntervalSchedule(every=60.0, anchor=EVERY.anchor, jitter=5.0)
    assert overlapping(running(schedule=jittered).state, t(120), now, t(120)) is None
    assert overlapping(running(exclude=("holidays",)).state, t(120), now, t(120)) is None
    expiring = attrs.evolve(running().state, expires_at=t(200))
    assert overlapping(expiring, t(120), now, t(120)) is None
    paused = attrs.evolve(running().state, status=JobStatus.PAUSED)
    assert overlapping(paused, t(120), now, t(120)) is None
    grace = running(misfire_grace=60.0).state
    assert overlapping(grace, t(120), t(400), t(120)) is None
    fire_all = running(misfire_grace=60.0, misfire=Misfire.FIRE_ALL).state
    assert overlapping(fire_all, t(120), t(400), t(120)) is not None
    assert overlapping(running().state, t(120), t(170), t(120)) is None


def test_an_overlapping_input_without_a_fire_in_flight_is_refused() -> None:
    """The machine checks the claim itself: nothing in flight, nothing skipped."""
    idle = Sim(job(EVERY)).state
    inp = FireDue(
        now=t(250), slot=t(60), next_slot=t(300), missed=4, last_missed=t(240), overlapping=True
    )
    idle = attrs.evolve(idle, next_fire_at=t(60))
    result = step(idle, inp)
    assert result.error is not None
    assert "do not overlap a fire in flight" in str(result.error)
