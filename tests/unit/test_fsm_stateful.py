"""The job state machine driven by hypothesis like a job actor would drive it.

The machine keeps an *actor view* built only from effects (timers, waits, runs in flight)
and checks after every step that it matches the state, plus the invariants: attempts ≤
max_retries + 1 per fire; no run starts while paused or terminal; exactly one terminal
event per job that ends; live recurring jobs keep a fire timer; every state change emits
an event and nothing else does; at most ``MAX_TRANSITIONS`` (16) transitions.
``crash_and_replay`` rebuilds the actor by feeding ``Recover`` to the persisted state and
checks it equals continuing live.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from gnomon.actors.core.job.fsm import (
    ORPHAN_ERROR,
    ArmTimer,
    Cancel,
    CancelTimer,
    Created,
    DependencyEnded,
    Emit,
    JobInput,
    KillRun,
    Pause,
    RecordSkip,
    Recover,
    Resume,
    RunFinished,
    RunNow,
    RunStarted,
    StartRun,
    StartWait,
    Step,
    StopWait,
    TimerKind,
    WaitPolled,
    due,
    live_status,
    step,
    timers,
)
from gnomon.actors.core.job.tx import awaits_deps
from gnomon.runtime.model.actions import NoopAction, ShellAction
from gnomon.runtime.model.conditions import FileCondition
from gnomon.runtime.model.enums import (
    JobStatus,
    Misfire,
    OnTimeout,
    Outcome,
    Overlap,
    OwnerKind,
    SkipReason,
    TriggerRule,
)
from gnomon.runtime.model.events import EventType as E
from gnomon.runtime.model.events import canonical_json
from gnomon.runtime.model.job import Budget, JobSpec, Owner, WaitSpec
from gnomon.runtime.model.schedule import (
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    Schedule,
    WhenReadySchedule,
    is_recurring,
)
from gnomon.runtime.model.state import MAX_TRANSITIONS, Dependency, FirePhase, JobState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVERY = 60.0
END_TYPES = {
    E.JOB_COMPLETED,
    E.JOB_FAILED,
    E.JOB_TIMED_OUT,
    E.JOB_CANCELLED,
    E.JOB_SKIPPED,
    E.JOB_EXPIRED,
    E.JOB_DEPENDENCY_FAILED,
}
SCHEDULES: list[Schedule] = [
    IntervalSchedule(every=EVERY, anchor=T0),
    OnceSchedule(at=T0 + timedelta(seconds=EVERY)),
    ManualSchedule(),
    WhenReadySchedule(),
]
DT = st.sampled_from([0.0, 0.5, 1.0, 5.0, 30.0, 61.0, 250.0])


@st.composite
def jobs(draw: st.DrawFn) -> tuple[JobState, Created]:
    """A job of any shape, and its Created input."""
    schedule = draw(st.sampled_from(SCHEDULES))
    on_timeout = draw(st.sampled_from(OnTimeout))
    wait = None
    if draw(st.booleans()):
        fallback = NoopAction() if on_timeout is OnTimeout.FALLBACK else None
        wait = WaitSpec(condition=FileCondition(path="/tmp/x"), on_timeout=on_timeout,
                        fallback=fallback)  # fmt: skip
    budget = Budget(
        max_retries=draw(st.integers(0, 3)),
        backoff_jitter=draw(st.sampled_from([0.0, 0.2])),
        wait_timeout=draw(st.sampled_from([10.0, 100.0])),
        max_polls=draw(st.integers(0, 3)),
    )
    spec = JobSpec(
        name="j",
        schedule=schedule,
        action=ShellAction(command="true"),
        wait=wait,
        budget=budget,
        overlap=draw(st.sampled_from(Overlap)),
        misfire=draw(st.sampled_from(Misfire)),
        stop_on_failure=draw(st.booleans()),
        trigger_rule=draw(st.sampled_from(TriggerRule)),
    )
    n_deps = draw(st.integers(0, 2))
    deps = tuple(Dependency(id=f"D{i}", name=f"d{i}") for i in range(n_deps))
    state = JobState(
        id="J",
        spec=spec,
        owner=Owner(kind=OwnerKind.AGENT, id="bot"),
        created_at=T0,
        updated_at=T0,
        expires_at=draw(st.sampled_from([None, T0 + timedelta(seconds=3000)])),
        trigger_ids=draw(st.sampled_from([(), ("T",)])),
    )
    first = T0 + timedelta(seconds=EVERY)
    return state, Created(now=T0, first_slot=first, dependencies=deps)


def next_slot_after(now: datetime) -> datetime:
    n = int((now - T0).total_seconds() // EVERY) + 1
    return T0 + timedelta(seconds=n * EVERY)


def normalized(state: JobState) -> JobState:
    """The state without the bookkeeping that needs no event (run started, updated_at)."""
    fires = tuple(attrs.evolve(f, started=False) for f in state.fires)
    return attrs.evolve(state, fires=fires, updated_at=T0)


class JobMachine(RuleBasedStateMachine):
    """One job, its actor's view, and the invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.state: JobState
        self.now = T0
        self.timers: dict[tuple[TimerKind, int | None], datetime] = {}
        self.waits: set[int] = set()
        self.runs: dict[str, StartRun] = {}
        self.started: set[str] = set()
        self.end_events = 0
        self.steps = 0
        self.charged: dict[int, int] = {}
        self.seen_runs: set[str] = set()
        self.paused_slots = 0  # RecordSkip(paused) effects: each slot skipped while paused
        self.paused_announced = 0  # the counts of the job.skipped events that announce them

    # -- plumbing ---------------------------------------------------------------------

    def feed(self, inp: JobInput) -> Step:
        self.steps += 1
        old = self.state
        result = step(old, inp)
        if result.error is not None:
            assert result.state is old
            assert result.effects == ()
            return result
        self.state = result.state
        self.apply(result)
        self.check_step(old, result, recover=isinstance(inp, Recover))
        return result

    def apply(self, result: Step) -> None:
        for eff in result.effects:
            match eff:
                case ArmTimer():
                    self.timers[eff.kind, eff.cycle] = eff.at
                case CancelTimer():
                    self.timers.pop((eff.kind, eff.cycle), None)
                case StartWait():
                    self.waits.add(eff.cycle)
                case StopWait():
                    self.waits.discard(eff.cycle)
                case StartRun():
                    self.runs[eff.run_id] = eff
                    if eff.run_id not in self.seen_runs and not eff.fallback:
                        self.charged[eff.cycle] = self.charged.get(eff.cycle, 0) + 1
                    self.seen_runs.add(eff.run_id)
                case KillRun():
                    self.runs.pop(eff.run_id, None)
                case RecordSkip() if eff.reason is SkipReason.PAUSED:
                    self.paused_slots += 1
                case Emit():
                    ev = eff.event
                    canonical_json(ev.payload)  # the store hashes it: must be plain JSON
                    if ev.type is E.JOB_SKIPPED and ev.payload.get("reason") == "paused":
                        self.paused_announced += ev.payload["count"]
                    if ev.type in END_TYPES and ev.status is not None and ev.status.terminal:
                        self.end_events += 1

    def check_step(self, old: JobState, result: Step, *, recover: bool) -> None:
        new = result.state
        budget = new.spec.budget
        runs = [e for e in result.effects if isinstance(e, StartRun)]
        if new.status is JobStatus.PAUSED or new.status.terminal:
            assert runs == [], "a run started while paused or terminal"
        assert all(r.fallback or r.attempt <= budget.max_retries + 1 for r in runs)
        if new.status.terminal and not old.status.terminal and not recover:
            self.check_last_fire(old, result)
        changed = normalized(new) != normalized(old)
        # a slot skipped while paused is counted silently; the pause's end announces it
        tallied = new.paused_skips is not None and new.paused_skips != old.paused_skips
        assert bool(result.events) == (changed and not tallied), (result.event_types, changed)
        if not recover:
            types = result.event_types
            assert len(types) == len(set(types)), f"duplicate events {types}"

    def check_last_fire(self, old: JobState, result: Step) -> None:
        """A job ended by a fire's end had nothing else in flight or queued."""
        ends = [e for e in result.events if e.type in END_TYPES and e.status == result.state.status]
        fire_end = ends and "cycle" in ends[0].payload and ends[0].type is not E.JOB_CANCELLED
        many = is_recurring(old.spec.schedule) or isinstance(old.spec.schedule, ManualSchedule)
        stopped = many and old.spec.stop_on_failure
        if fire_end and not stopped:
            assert old.queued is None, "a queued fire was dropped by the job's end"
            assert len(old.fires) <= 1, "a fire in flight was dropped by the job's end"

    def advance(self, dt: float) -> None:
        self.now += timedelta(seconds=dt)

    def live(self) -> bool:
        return not self.state.status.terminal

    def fires_where(self, phase: FirePhase) -> list[int]:
        return [f.cycle for f in self.state.fires if f.phase is phase]

    # -- rules ------------------------------------------------------------------------

    @initialize(shape=jobs())
    def create(self, shape: tuple[JobState, Created]) -> None:
        self.state, created = shape
        result = self.feed(created)
        assert result.ok, result.error

    @precondition(lambda self: bool(self.timers))
    @rule(data=st.data())
    def timer_due(self, data: st.DataObject) -> None:
        """The earliest (or any) armed timer rings."""
        keys = sorted(self.timers, key=lambda k: (self.timers[k], k[0], k[1] or 0))
        key = data.draw(st.sampled_from(keys[:2]))
        at = self.timers.pop(key)
        self.now = max(self.now, at)
        nxt = at + timedelta(seconds=EVERY) if is_recurring(self.state.spec.schedule) else None
        result = self.feed(due(key[0], key[1], at, self.now, next_slot=nxt))
        assert result.ok, f"a due timer {key} was refused: {result.error}"

    @precondition(lambda self: any(r not in self.started for r in self.runs))
    @rule(data=st.data(), dt=DT)
    def run_starts(self, data: st.DataObject, dt: float) -> None:
        run_id = data.draw(st.sampled_from(sorted(r for r in self.runs if r not in self.started)))
        self.advance(dt)
        assert self.feed(RunStarted(now=self.now, run_id=run_id)).ok
        self.started.add(run_id)

    @precondition(lambda self: bool(self.runs))
    @rule(
        data=st.data(),
        dt=DT,
        outcome=st.sampled_from(
            [Outcome.SUCCESS, Outcome.FAILED, Outcome.FAILED, Outcome.TIMEOUT, Outcome.BREAKER_OPEN]
        ),
        retry_after=st.sampled_from([None, 10.0, 500.0]),
    )
    def run_ends(
        self, data: st.DataObject, dt: float, outcome: Outcome, retry_after: float | None
    ) -> None:
        """A run succeeds, fails, times out, or was refused by an open breaker."""
        run_id = data.draw(st.sampled_from(sorted(self.runs)))
        if outcome is Outcome.BREAKER_OPEN and run_id in self.started:
            outcome = Outcome.FAILED
        self.advance(dt)
        inp = RunFinished(now=self.now, run_id=run_id, outcome=outcome, retry_after=retry_after)
        run = self.runs.pop(run_id)
        result = self.feed(inp)
        assert result.ok
        if run.fallback:
            assert E.JOB_TIMED_OUT in result.event_types, "a fallback fire must end timed_out"
        if outcome is Outcome.BREAKER_OPEN and not run.fallback:
            self.charged[run.cycle] -= 1

    @precondition(lambda self: bool(self.waits))
    @rule(
        data=st.data(), dt=DT, value=st.sampled_from([True, False, None]), transient=st.booleans()
    )
    def poll(self, data: st.DataObject, dt: float, value: bool | None, transient: bool) -> None:
        cycle = data.draw(st.sampled_from(sorted(self.waits)))
        self.advance(dt)
        inp = WaitPolled(now=self.now, cycle=cycle, value=value, transient=transient)
        assert self.feed(inp).ok

    @precondition(lambda self: self.live() and self.state.status is not JobStatus.PAUSED)
    @rule(dt=DT)
    def pause(self, dt: float) -> None:
        self.advance(dt)
        was = self.state.status
        result = self.feed(Pause(now=self.now))
        assert result.ok == (not was.terminal and was is not JobStatus.PAUSED)

    @precondition(lambda self: self.state.status is JobStatus.PAUSED or self.steps % 11 == 10)
    @rule(dt=DT)
    def resume(self, dt: float) -> None:
        self.advance(dt)
        was = self.state.status
        result = self.feed(Resume(now=self.now, next_slot=next_slot_after(self.now)))
        assert result.ok == (was is JobStatus.PAUSED)

    @precondition(lambda self: self.steps % 7 == 6)
    @rule(dt=DT)
    def cancel(self, dt: float) -> None:
        """Cancel (gated to every 7th step so that most examples live long enough)."""
        self.advance(dt)
        was = self.state.status
        result = self.feed(Cancel(now=self.now))
        assert result.ok == (not was.terminal)
        if result.ok:
            assert self.runs == {}

    @precondition(lambda self: self.live() and not awaits_deps(self.state))
    @rule(dt=DT, trigger=st.sampled_from([None, "P"]))
    def run_now(self, dt: float, trigger: str | None) -> None:
        """jobs run, or a trigger from parent P."""
        self.advance(dt)
        was = self.state.status
        result = self.feed(RunNow(now=self.now, trigger=trigger))
        if was in (JobStatus.PAUSED, JobStatus.BLOCKED):
            assert not result.ok

    @precondition(lambda self: awaits_deps(self.state))
    @rule(data=st.data(), dt=DT, status=st.sampled_from(sorted(JobStatus, key=str)))
    def dependency_ends(self, data: st.DataObject, dt: float, status: JobStatus) -> None:
        if not status.terminal:
            status = JobStatus.COMPLETED
        dep = data.draw(st.sampled_from([d for d in self.state.dependencies if d.status is None]))
        self.advance(dt)
        nxt = next_slot_after(self.now)
        assert self.feed(
            DependencyEnded(now=self.now, dep_id=dep.id, status=status, next_slot=nxt)
        ).ok

    @rule(dt=DT)
    def idle(self, dt: float) -> None:
        """Time passes with no input (always enabled)."""
        self.steps += 1
        self.advance(dt)

    @precondition(lambda self: self.steps % 3 == 2)
    @rule(dt=DT)
    def crash_and_replay(self, dt: float) -> None:
        """Rebuild the actor from the persisted state: it must equal continuing live."""
        self.steps += 1
        self.advance(dt)
        persisted = self.state
        live = self.live_equivalent(persisted)
        if persisted.status is JobStatus.PAUSED:
            for f in persisted.fires:
                if f.phase is FirePhase.RUNNING and not f.started and not f.fallback:
                    self.charged[f.cycle] -= 1
        result = step(persisted, Recover(now=self.now))
        assert result.ok
        if live is not None:
            assert result.state == live
        self.timers, self.waits, self.runs = {}, set(), {}
        self.state = result.state
        self.apply(result)
        self.check_step(persisted, result, recover=True)

    def live_equivalent(self, state: JobState) -> JobState | None:
        """What the live machine reaches when every started run fails as an orphan."""
        if state.expires_at is not None and self.now >= state.expires_at:
            return None
        if state.status is JobStatus.PAUSED and any(
            f.phase is FirePhase.RUNNING and not f.started for f in state.fires
        ):
            return None
        for fire in sorted(state.fires, key=lambda f: f.cycle):
            if fire.phase is FirePhase.RUNNING and fire.started and fire.run_id:
                inp = RunFinished(now=self.now, run_id=fire.run_id, outcome=Outcome.FAILED,
                                  error=ORPHAN_ERROR, transient=True)  # fmt: skip
                nxt = step(state, inp)
                state = nxt.state
        return state

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def actor_view_matches_state(self) -> None:
        """Timers, waits and runs held by the actor are exactly what the state implies."""
        s = self.state
        assert self.timers == timers(s)
        paused = s.status is JobStatus.PAUSED
        expected_waits = set() if paused else set(self.fires_where(FirePhase.WAITING))
        assert self.waits == expected_waits
        in_flight = {f.run_id for f in s.fires if f.phase is FirePhase.RUNNING}
        assert set(self.runs) == in_flight

    @invariant()
    def attempts_are_bounded_and_charged_right(self) -> None:
        """attempts ≤ max_retries + 1, counting dispatched runs minus breaker refusals."""
        limit = self.state.spec.budget.max_retries + 1
        for f in self.state.fires:
            assert 0 <= f.attempt <= limit
            assert f.attempt == self.charged.get(f.cycle, 0)

    @invariant()
    def status_is_consistent(self) -> None:
        s = self.state
        assert len(s.transitions) <= MAX_TRANSITIONS
        assert (s.paused_from is not None) == (s.status is JobStatus.PAUSED)
        if s.status.terminal:
            assert s.fires == ()
            assert s.queued is None
            assert s.finished_at is not None
        elif s.status not in (JobStatus.PAUSED, JobStatus.BLOCKED):
            assert s.status is live_status(s)
        assert self.end_events == (1 if s.status.terminal else 0)

    @invariant()
    def every_slot_skipped_while_paused_is_announced_once(self) -> None:
        """The paused skips' events count each slot once; only a paused job holds a tally."""
        s = self.state
        assert s.paused_skips is None or s.status is JobStatus.PAUSED
        held = s.paused_skips.count if s.paused_skips is not None else 0
        assert self.paused_slots == self.paused_announced + held

    @invariant()
    def recurring_jobs_keep_a_next_fire(self) -> None:
        s = self.state
        if is_recurring(s.spec.schedule) and not s.status.terminal:
            assert s.next_fire_at is not None
            if not awaits_deps(s):
                assert (TimerKind.FIRE, None) in self.timers

    @invariant()
    def manual_jobs_never_arm_a_fire_timer(self) -> None:
        if isinstance(self.state.spec.schedule, ManualSchedule):
            assert (TimerKind.FIRE, None) not in self.timers


JobMachine.TestCase.settings = settings(max_examples=400, stateful_step_count=50, deadline=None)
TestJobMachine = JobMachine.TestCase
