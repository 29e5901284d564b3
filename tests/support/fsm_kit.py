"""Shared kit of the pure job state machine's tests (tests/unit/test_job_fsm_*.py):
a job ``j`` at a fixed epoch, a simulator that feeds inputs and keeps the steps, and
helpers that bring a job to a given phase (fired, waiting, in a live status)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from gnomon.actors.core.job.fsm import (
    Created,
    Effect,
    FireDue,
    JobInput,
    RunFinished,
    StartRun,
    Step,
    step,
)
from gnomon.runtime.model.actions import NoopAction, ShellAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import JobStatus, OnTimeout, Outcome, OwnerKind
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.job import Budget, JobSpec, Owner, WaitSpec
from gnomon.runtime.model.schedule import IntervalSchedule, OnceSchedule, Schedule
from gnomon.runtime.model.state import Dependency, JobState

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


def waiting(on_timeout: OnTimeout = OnTimeout.FAIL, **budget: Any) -> Sim:
    spec = WaitSpec(
        condition=COND,
        on_timeout=on_timeout,
        fallback=FALLBACK if on_timeout is OnTimeout.FALLBACK else None,
    )
    b = Budget(backoff_jitter=0.0, wait_timeout=100.0, **budget)
    return fired(job(wait=spec, budget=b))


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
