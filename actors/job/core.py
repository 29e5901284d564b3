"""The step/commit core of a job: one state machine driver, two shells.

:class:`JobCore` holds one job's state, its timers and the skips it holds back, and
turns inputs into :class:`~gnomon.actors.job.units.Unit` s of work — the state, claims,
runs and events to save together and the effects to perform once they are saved. It
has no mailbox, no task and no channel, and never awaits: whoever drives the job — its
actor (:mod:`gnomon.actors.job.actor`) or the directory's batch firer
(:mod:`gnomon.actors.job.batch`) — commits the unit it returns and then performs its
effects, so both paths step a job identically and cannot drift.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.attempts import started_now
from gnomon.actors.core.job.msgs import (
    ArmTimer,
    CancelTimer,
    Effect,
    JobInput,
    KillRun,
    NotifyDependents,
    RecordSkip,
    StartRun,
    StartTriggers,
    StartWait,
    Step,
    StopWait,
    TimerKind,
)
from gnomon.actors.core.job.slots import MAX_CATCH_UP, overlapping
from gnomon.actors.core.job.tx import same_state
from gnomon.actors.job import waits
from gnomon.actors.job.perform import RunEnd
from gnomon.actors.job.ports import JobDeps, Save
from gnomon.actors.job.units import Unit, claims_of, enrich
from gnomon.runtime.model.enums import JobStatus, Overlap
from gnomon.runtime.model.firing import count_between, latest_slots, next_fire, prev_fire
from gnomon.runtime.model.schedule import IntervalSchedule, Schedule
from gnomon.runtime.model.state import JobState, RunRecord

#: Seconds a unit that only records skipped slots may wait to ride with the job's next
#: save: under overload, skips must not cost a commit each (nothing observed them yet,
#: so a crash meanwhile loses nothing — the slots are judged again at recovery).
HOLD_SKIPS = 1.0
TimerKey = tuple[TimerKind, int | None]
_NOT_BEGUN = datetime.max.replace(tzinfo=UTC)


class JobCore:
    """One job's state machine driver (see the module docstring).

    Args:
        deps: the engine's shared ports (clock, schedules, store, …).
        state: the job's last committed state.
        in_flight: run ids that already have a task (never recorded as started again).
    """

    __slots__ = (
        "_recorded",
        "began",
        "deps",
        "held",
        "held_until",
        "in_flight",
        "state",
        "timers",
    )

    def __init__(self, deps: JobDeps, state: JobState, in_flight: Collection[str] = ()) -> None:
        self.deps = deps
        self.state = state
        self.in_flight = in_flight
        self.began: dict[str, datetime] = {}  # run id → when its task began (run tracker)
        self.timers: dict[TimerKey, datetime] = {}
        self.held: Unit | None = None
        self.held_until = math.inf
        self._recorded: dict[str, RunRecord] = {}  # by the last :meth:`started`

    # -- stepping ---------------------------------------------------------------------

    def stage(
        self, unit: Unit, inp: JobInput, *, runs: tuple[RunRecord, ...] = (), **context: Any
    ) -> Step:
        """Step the state machine into ``unit`` (saved by the shell's commit).

        A run the step dispatches is recorded as started in the same unit of work (see
        :meth:`started`): a crash after that commit finds it an orphan — at most once per
        attempt, never re-run blindly. The state moves on at once; timer effects are
        applied at once (they live only in memory), the others wait in ``unit.effects``
        for the commit.
        """
        waits.sync(self, unit, inp)
        step = fsm.step(self.state, inp)
        unit.runs += runs
        if not step.ok:
            return step
        step, started = self.started(step)
        unit.runs += started
        unit.events += (enrich(e, self.state, step.state, inp, **context) for e in step.events)
        unit.claims += claims_of(self.state, step)
        unit.changed |= not same_state(step.state, self.state)
        self.state = step.state
        for effect in step.effects:
            if isinstance(effect, ArmTimer | CancelTimer):
                self.timer(effect)
            else:
                unit.effects.append(effect)
        return step

    def started(self, step: Step) -> tuple[Step, tuple[RunRecord, ...]]:
        """``step`` with every run it dispatches reported started, and their records."""
        starts = [
            e for e in step.effects if isinstance(e, StartRun) and e.run_id not in self.in_flight
        ]
        if not starts:
            return step, ()
        now = self.deps.clock.now()
        records = []
        for start in starts:
            merged = started_now(step.state, start.run_id, now)  # = a RunStarted step
            assert merged is not None  # a run the step just dispatched is in flight
            step = fsm.Step(merged, step.effects)
            records.append(self._recorded.setdefault(start.run_id, self.record(start)))
        return step, tuple(records)

    def take_record(self, start: StartRun) -> RunRecord:
        """The started record of ``start`` saved by :meth:`started` (or a fresh one)."""
        return self._recorded.pop(start.run_id, None) or self.record(start)

    def record(self, start: StartRun, began: RunEnd | None = None) -> RunRecord:
        """A run record of ``start``, started now (or when ``began`` says it started)."""
        now = self.deps.clock.now()
        return RunRecord(
            run_id=start.run_id,
            job_id=self.state.id,
            cycle=start.cycle,
            attempt=start.attempt,
            fire_time=start.fire_time,
            started_at=now if began is None else (began.started_at or began.finished_at),
            fallback=start.fallback,
        )

    def timer(self, effect: ArmTimer | CancelTimer) -> None:
        if isinstance(effect, ArmTimer):
            self.timers[effect.kind, effect.cycle] = effect.at
        else:
            self.timers.pop((effect.kind, effect.cycle), None)

    # -- committing -------------------------------------------------------------------

    def seal(self, unit: Unit) -> tuple[Unit, Save | None]:
        """``unit`` after the skips held back, and the save that writes it (``None``
        when there is nothing to write)."""
        if self.held is not None:
            unit, self.held, self.held_until = self.held.then(unit), None, math.inf
        if unit.changed or unit.events or unit.claims:
            save = Save(
                job=self.state,
                wake=self.next_timer(),
                claims=tuple(unit.claims),
                runs=tuple(unit.runs),
                events=tuple(unit.events),
                urgent=unit.urgent,
            )
            return unit, save
        if unit.runs:
            return unit, Save(job_id=unit.job_id, runs=tuple(unit.runs), urgent=unit.urgent)
        return unit, None

    def committed(self, unit: Unit) -> list[Effect]:
        """``unit`` is saved: tell the directory, and hand back the effects to perform."""
        self.deps.note(self.state, self.next_timer(), False)
        self.deps.fault("job.after_save")
        return unit.effects

    # -- timers -----------------------------------------------------------------------

    def next_timer(self) -> datetime | None:
        return min(self.timers.values(), default=None)

    def parked(self, key: TimerKey, at: datetime, now: datetime) -> bool:
        """Whether the timer ``key`` due at ``at`` waits for a run's end: a due fire
        timer of a job whose run in flight had not begun by ``at`` (its task not yet
        running: the engine, not the job, is behind). Its slot is decided when that run
        has ended in memory, in the unit of the run's end (:meth:`end_run`), so a
        scheduler that is late by a period does not turn every slot into an overlap
        skip. A run that had begun by ``at`` is a real overlap: its policy decides now.
        Only for ``overlap=skip``: ``allow`` fires beside the run, ``queue`` holds the
        fire for its end anyway, ``cancel_previous`` must kill the run at the slot."""
        if key[0] is not TimerKind.FIRE or at > now or not self.in_flight:
            return False
        if self.state.spec.overlap is not Overlap.SKIP:
            return False
        began = self.began
        return any(began.get(run_id, _NOT_BEGUN) > at for run_id in self.in_flight)

    def deadline(self) -> float:
        """The trio deadline of the next timer (parked ones wait for their run's end,
        which wakes the owner) or of the held skips."""
        nxt = self.next_timer()
        if nxt is not None and self.in_flight:
            now = self.deps.clock.now()
            live = [at for key, at in self.timers.items() if not self.parked(key, at, now)]
            nxt = min(live, default=None)
        due = math.inf if nxt is None else self.deps.clock.deadline_for(nxt)
        return min(due, self.held_until)

    def ring(self, mono: float) -> Unit | None:
        """Feed every due timer, earliest first (a step may arm more due timers), into
        one unit: a job late by many slots (misfires, overlap skips) costs one commit,
        not one per slot. Returns the unit to commit, or ``None`` when it only skipped
        slots and is held back (up to :data:`HOLD_SKIPS` after trio time ``mono``)."""
        unit = Unit(job_id=self.state.id)
        self.ring_into(unit)
        if unit.quiet() and mono < self.held_until:
            if self.held is None:
                self.held_until = mono + HOLD_SKIPS
            self.held = unit if self.held is None else self.held.then(unit)
            self.deps.note(self.state, self.next_timer(), False)
            return None
        return unit

    def ring_into(self, unit: Unit) -> None:
        """Stage every due timer that is not parked into ``unit``, earliest first."""
        newest: list[datetime | None] = []  # the catch-up horizon, found once per ring
        while True:
            now = self.deps.clock.now()
            due = [
                (at, key)
                for key, at in self.timers.items()
                if at <= now and not self.parked(key, at, now)
            ]
            if not due:
                return
            at, (kind, cycle) = min(due, key=lambda d: d[0])
            del self.timers[kind, cycle]
            if kind is TimerKind.FIRE:
                self.stage(unit, self.fire_due(at, now, newest))
            else:
                self.stage(unit, fsm.due(kind, cycle, at, now))

    def end_run(
        self,
        unit: Unit,
        start: StartRun,
        ended: tuple[fsm.RunFinished, RunRecord, RunEnd],
        *,
        ring: bool = True,
    ) -> None:
        """Stage a run's end into ``unit``, then every timer due now (pipelining): the
        next slot of a recurring job is decided as soon as its run has ended in memory,
        and its claim rides in the same unit *behind* the end — one transaction, so a
        failed commit rejects both and nothing of the job is queued behind a unit that
        may still fail. A stopping owner passes ``ring=False``: it fires nothing more."""
        inp, record, end = ended
        self.stage(unit, inp, runs=(record,), run=(start, end))
        if ring:
            self.ring_into(unit)

    def fire_due(self, at: datetime, now: datetime, newest: list[datetime | None]) -> JobInput:
        """The input of the fire timer due at ``at``: the slot and the one after it, or,
        when more than ``MAX_CATCH_UP`` slots are due, ``at`` and every slot before the
        newest ``MAX_CATCH_UP`` dropped at once (found arithmetically, never slot by slot;
        ``newest`` caches the oldest of those for the rest of this ring). Slots that would
        each be an overlap skip are skipped together (``slots.overlapping``)."""
        schedule = self.state.spec.schedule
        due, at = at, self.state.next_fire_at or at  # the timer rings at the jittered slot
        nxt = next_fire(schedule, at)
        if nxt is None or nxt > now:
            return self.one_slot(at, nxt, now, due)
        if few_due(schedule, nxt, now):  # a few periods late: skipped together if overlapping
            return overlapping(self.state, at, now, due) or self.one_slot(at, nxt, now, due)
        if not newest:
            recent = latest_slots(schedule, now, MAX_CATCH_UP)
            newest.append(recent[0] if recent else None)
        resume = newest[0]
        if resume is None or resume <= nxt:
            return self.one_slot(at, nxt, now, due)
        counted = count_between(schedule, at, resume)
        return fsm.FireDue(
            now=now,
            slot=at,
            next_slot=resume,
            bulk=True,
            missed=None if counted is None else counted - 1,
            last_missed=prev_fire(schedule, resume - timedelta(microseconds=1)),
        )

    def one_slot(
        self, slot: datetime, nxt: datetime | None, now: datetime, due: datetime
    ) -> JobInput:
        """The input of one due slot, with the exclusion calendar that covers it."""
        excluded = self.deps.exclusion(self.state.spec, slot)
        return fsm.FireDue(now=now, slot=slot, next_slot=nxt, due=due, excluded=excluded)

    # -- run ends ---------------------------------------------------------------------

    def run_finished(self, end: RunEnd, record: RunRecord) -> fsm.RunFinished:
        """The state machine input of a run's end (``record``: its final run record)."""
        result = end.result
        return fsm.RunFinished(
            now=self.deps.clock.now(),
            run_id=end.run_id,
            outcome=end.outcome,
            exit_code=None if result is None else result.exit_code,
            error=record.error,
            transient=False if result is None else result.transient,
            retry_after=end.retry_after,
        )

    def fresh(self, state: JobState) -> None:
        """Take ``state`` as a new start (``--replace``): its timers are set anew."""
        self.state = state
        self.timers.clear()


def few_due(schedule: Schedule, nxt: datetime, now: datetime) -> bool:
    """For an interval schedule: at most ``MAX_CATCH_UP`` slots from ``nxt`` to ``now``,
    counted arithmetically (the same answer as walking back ``MAX_CATCH_UP`` slots from
    ``now``, without the walk: a job late by a few periods is not a catch-up). ``False``
    for other schedules (their caller walks)."""
    if not isinstance(schedule, IntervalSchedule):
        return False
    last = prev_fire(schedule, now)
    counted = None if last is None else count_between(schedule, nxt, last)
    return counted is not None and counted <= MAX_CATCH_UP


def plain(state: JobState) -> bool:
    """A job the batch firer may fire: pending, nothing in flight or queued, no wait."""
    return (
        state.status is JobStatus.PENDING
        and not state.fires
        and state.queued is None
        and state.spec.wait is None
    )


class Runs(Protocol):
    """Where a job's runs are started and killed (its owner's run tracker)."""

    def start(self, start: StartRun) -> None: ...

    def kill(self, run_id: str, reason: str) -> None: ...


def perform(core: JobCore, runs: Runs, effect: Effect) -> None:
    """Carry out one effect of ``core``'s job (its unit is saved already); the same for
    every owner of the job."""
    deps, state = core.deps, core.state
    match effect:
        case ArmTimer() | CancelTimer():
            core.timer(effect)
        case StartWait():
            waits.start(deps, state, effect)
        case StopWait():
            waits.stop(deps, state.id, effect.cycle)
        case StartRun():
            runs.start(effect)
        case KillRun():
            runs.kill(effect.run_id, effect.reason)
        case NotifyDependents():
            deps.notify_dependents(effect.job_id, effect.status)
        case StartTriggers():
            deps.start_triggers(effect, state)
        case RecordSkip():
            pass  # claimed and announced in the save itself
