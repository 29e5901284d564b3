"""The state machine's fast paths (``actors/core/job/fast.py``) give exactly what its
general handlers give: the same state, the same events with their payload keys in the
same order, the same effects in the same order — for random states and inputs nudged
towards the plain cases, and wherever a fast path declines, the general path decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from unit.model_strategies import aware_datetimes, fire_states, job_states, text

from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.fast import fast_step
from gnomon.actors.core.job.msgs import Emit
from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.enums import JobStatus, Outcome, OwnerKind
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule, OnceSchedule
from gnomon.runtime.model.state import FirePhase, JobState

seconds = st.one_of(
    st.integers(min_value=-5, max_value=5), st.integers(min_value=-5, max_value=100_000)
).map(lambda s: timedelta(seconds=s))


@st.composite
def nudged_states(draw: Any, kind: str) -> JobState:
    """A drawn job state, mostly made plain for ``kind``: pending with nothing in flight
    and its slot armed (``fire``, ``recover``), or running its only fire (``end``); no
    wait, no queued fire, no triggers, no paused skips. Each nudge may be left out."""
    state: JobState = draw(job_states)
    if not draw(st.integers(0, 9)):
        return state
    if draw(st.integers(0, 9)):
        state = attrs.evolve(state, spec=attrs.evolve(state.spec, wait=None))
    if draw(st.integers(0, 9)):
        state = attrs.evolve(state, queued=None, trigger_ids=(), paused_skips=None)
    if kind == "end":
        fire = attrs.evolve(
            state.fires[0] if state.fires else draw(fire_states),
            phase=FirePhase.RUNNING,
            run_id="r",
            fallback=not draw(st.integers(0, 9)),
        )
        return attrs.evolve(state, status=JobStatus.RUNNING, fires=(fire,))
    if kind == "created":
        if not draw(st.integers(0, 9)):
            return state
        fresh = {"transitions": (), "cycle": 0, "fires": (), "dependencies": ()}
        return attrs.evolve(state, status=JobStatus.PENDING, **fresh)
    if kind != "end":
        slot = state.next_fire_at or draw(aware_datetimes)
        return attrs.evolve(state, status=JobStatus.PENDING, fires=(), next_fire_at=slot)
    return state


@st.composite
def fire_dues(draw: Any, state: JobState) -> fsm.FireDue:
    slot = state.next_fire_at if state.next_fire_at and draw(st.integers(0, 9)) else None
    slot = slot or draw(aware_datetimes)
    return fsm.FireDue(
        now=slot + draw(seconds),
        slot=slot,
        next_slot=draw(st.none() | seconds.map(lambda d: slot + abs(d))),
        bulk=not draw(st.integers(0, 9)),
        due=draw(st.none() | seconds.map(lambda d: slot + abs(d) / 1000)),
        excluded=None if draw(st.integers(0, 9)) else draw(text),
        overlapping=not draw(st.integers(0, 19)),
    )


@st.composite
def cases(draw: Any) -> tuple[JobState, fsm.JobInput]:
    kind = draw(st.sampled_from(["fire", "end", "recover", "created"]))
    state = draw(nudged_states(kind))
    if kind == "fire":
        return state, draw(fire_dues(state))
    now = draw(aware_datetimes)
    if kind == "created":
        first = now + abs(draw(seconds)) if draw(st.integers(0, 9)) else None
        deps = () if draw(st.integers(0, 9)) else state.dependencies
        return state, fsm.Created(now=now, first_slot=first, dependencies=deps)
    if kind == "recover":
        return state, fsm.Recover(now=now)
    run_id = "r" if draw(st.integers(0, 9)) else "other"
    outcome = Outcome.SUCCESS if draw(st.booleans()) else draw(st.sampled_from(Outcome))
    return state, fsm.RunFinished(now=now, run_id=run_id, outcome=outcome)


def _key_orders(step: fsm.Step) -> list[list[str]]:
    return [list(e.event.payload) for e in step.effects if isinstance(e, Emit)]


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_fast_path_is_the_general_path(case: tuple[JobState, fsm.JobInput]) -> None:
    state, inp = case
    try:  # a drawn state may be one no job reaches (its timers cannot be computed)
        general = fsm.general_step(state, inp)
    except Exception:
        assume(False)
    fast = fast_step(state, inp)
    event(f"{type(inp).__name__}: {'fast' if fast is not None else 'general'}")
    if fast is not None:
        assert fast == general
        assert _key_orders(fast) == _key_orders(general)
    assert fsm.step(state, inp) == general


T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _created(schedule: Any) -> JobState:
    spec = JobSpec(name="storm-1", schedule=schedule, action=ShellAction(command="true"))
    blank = JobState(
        id="j1", spec=spec, owner=Owner(kind=OwnerKind.USER, id="u"), created_at=T0, updated_at=T0
    )
    return fsm.step(blank, fsm.Created(now=T0, first_slot=T0 + timedelta(seconds=60))).state


def _blank(state: JobState) -> JobState:
    """``state``'s job as it was before its ``Created`` step."""
    return JobState(id=state.id, spec=state.spec, owner=state.owner, created_at=T0, updated_at=T0)


def test_a_storm_job_takes_the_fast_paths() -> None:
    """A one-shot job's creation, recovery, fire and success are all fast, and end it
    completed."""
    state = _created(OnceSchedule(at=T0 + timedelta(seconds=60)))
    assert fast_step(_blank(state), fsm.Created(now=T0, first_slot=state.next_fire_at))
    at = T0 + timedelta(seconds=61)
    assert fast_step(state, fsm.Recover(now=at)) is not None
    fired = fast_step(state, fsm.FireDue(now=at, slot=T0 + timedelta(seconds=60)))
    assert fired is not None
    assert fired.event_types == (EventType.JOB_FIRED, EventType.JOB_RUNNING)
    done = fast_step(fired.state, fsm.RunFinished(now=at, run_id="j1.1.1", outcome=Outcome.SUCCESS))
    assert done is not None
    assert done.state.status is JobStatus.COMPLETED
    assert done.event_types == (EventType.JOB_COMPLETED,)


def test_a_recurring_job_fires_fast_and_is_pending_again() -> None:
    state = _created(IntervalSchedule(every=60, anchor=T0))
    slot = state.next_fire_at
    assert slot is not None
    at = slot + timedelta(seconds=1)
    fired = fast_step(state, fsm.FireDue(now=at, slot=slot, next_slot=slot + timedelta(60)))
    assert fired is not None
    done = fast_step(fired.state, fsm.RunFinished(now=at, run_id="j1.1.1", outcome=Outcome.SUCCESS))
    assert done is not None
    assert done.state.status is JobStatus.PENDING
    assert done.state.next_fire_at == slot + timedelta(60)
