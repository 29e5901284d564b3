"""The pure state machine's backfill and exclusion inputs: a backfilled slot starts a fire
for that slot beside any in flight (the fire's slot is what the store claims); an excluded
slot is a skip with reason ``excluded``; lateness counts from the jittered due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gnomon.actors.core.job.fsm import Backfill, Created, FireDue, Pause, StartRun, step
from gnomon.actors.job.units import claims_of
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import OwnerKind, SkipReason
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule, OnceSchedule, Schedule
from gnomon.runtime.model.state import JobState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAILY = IntervalSchedule(every=86400.0, anchor=T0)


def created(schedule: Schedule = DAILY) -> JobState:
    spec = JobSpec(name="d", schedule=schedule, action=NoopAction())
    state = JobState(
        id="J",
        spec=spec,
        owner=Owner(kind=OwnerKind.USER, id="alice"),
        created_at=T0,
        updated_at=T0,
    )
    result = step(state, Created(now=T0, first_slot=T0 + timedelta(days=1)))
    assert result.error is None
    return result.state


def test_backfilled_slots_fire_side_by_side_and_are_claimed() -> None:
    state = created()
    past = [T0 - timedelta(days=n) for n in (2, 1)]
    for slot in past:
        result = step(state, Backfill(now=T0, slot=slot))
        assert result.error is None, result.error
        assert claims_of(state, result) == (slot,)
        assert [e.fire_time for e in result.effects if isinstance(e, StartRun)] == [slot]
        assert EventType.JOB_FIRED in result.event_types
        state = result.state
    assert sorted(f.fire_time for f in state.fires) == past
    again = step(state, Backfill(now=T0, slot=past[0]))
    assert again.error is not None
    assert "already in flight" in again.error


def test_backfill_is_refused_for_paused_and_one_shot_jobs() -> None:
    paused = step(created(), Pause(now=T0)).state
    refused = step(paused, Backfill(now=T0, slot=T0 - timedelta(days=1))).error
    assert refused is not None
    assert "paused" in refused
    once = created(OnceSchedule(at=T0 + timedelta(days=1)))
    refused = step(once, Backfill(now=T0, slot=T0 - timedelta(days=1))).error
    assert refused is not None
    assert "only recurring schedules" in refused


def test_an_excluded_slot_is_skipped_and_named() -> None:
    state = created()
    slot = T0 + timedelta(days=1)
    nxt = slot + timedelta(days=1)
    result = step(state, FireDue(now=slot, slot=slot, next_slot=nxt, excluded="holidays"))
    assert result.error is None
    (skip,) = [e for e in result.events if e.type is EventType.JOB_SKIPPED]
    assert skip.message == "excluded: holidays"
    assert skip.payload["reason"] is SkipReason.EXCLUDED
    assert skip.payload["calendar"] == "holidays"
    assert result.state.next_fire_at == nxt
    assert result.state.message == "excluded: holidays"
    assert not result.state.fires


def test_lateness_counts_from_the_jittered_due_time() -> None:
    """A slot delayed 9 min by its jitter and handled on time is no misfire."""
    state = created()
    slot = T0 + timedelta(days=1)
    due = slot + timedelta(minutes=9)
    result = step(state, FireDue(now=due, slot=slot, next_slot=slot + timedelta(days=1), due=due))
    assert result.error is None
    assert EventType.JOB_SKIPPED not in result.event_types
    assert [f.fire_time for f in result.state.fires] == [slot]
