"""The job actor: the trio shell around the pure job state machine.

One incarnation: load the job's state, feed it ``Recover`` (so a restart is
indistinguishable from a boot), then loop — the next message or the next timer becomes an
input of :func:`~gnomon.actors.core.job.fsm.step`; each step's new state, claimed slots,
run records and events are saved in one transaction *before* its effects are performed.
Runs are tasks in the actor's nursery; waits are entries of the shared pollers
(``actors/job/waits.py``), so a waiting job passivates too. When the job is idle the
actor records its next wake time with the directory and returns (passivation). On a stop
request it stops firing, lets runs in flight finish — until the daemon's stop interrupts
them (recorded ``interrupted``, re-run at the next start; ``actors/drain.py``), or as a
last resort the supervisor's ``shutdown`` bound cancels the actor — and returns; waits
stay persisted and resume at the next start. Design: ``docs/engine.md``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import trio

from gnomon.actors.core.job import fsm
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
from gnomon.actors.core.job.slots import MAX_CATCH_UP
from gnomon.actors.core.job.tx import same_state
from gnomon.actors.job import waits
from gnomon.actors.job.events import Unit, claims_of, enrich
from gnomon.actors.job.ports import (
    CommandResult,
    JobCommand,
    JobDeps,
    JobMessage,
    Polled,
    RunEnded,
    Save,
)
from gnomon.actors.job.replace import replace
from gnomon.actors.job.runs import RunTracker
from gnomon.runtime.actor import ActorContext
from gnomon.runtime.errors import NotFound
from gnomon.runtime.model.firing import count_between, latest_slots, prev_fire
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.supervisor import ChildSpec, Restart

KIND = "job"
#: Seconds a unit that only records skipped slots may wait to ride with the job's next
#: save: under overload, skips must not cost a commit each (nothing observed them yet,
#: so a crash meanwhile loses nothing — the slots are judged again at recovery).
HOLD_SKIPS = 1.0
TimerKey = tuple[TimerKind, int | None]


class JobShell:
    """The mutable side of one job actor incarnation."""

    def __init__(
        self, ctx: ActorContext[Any], deps: JobDeps, state: JobState, nursery: trio.Nursery
    ) -> None:
        self.ctx = ctx
        self.deps = deps
        self.state = state
        self.nursery = nursery
        self.timers: dict[TimerKey, datetime] = {}
        self.runs = RunTracker(self)
        self.held: Unit | None = None
        self.held_until = math.inf

    # -- stepping ---------------------------------------------------------------------

    async def apply(
        self,
        inp: JobInput,
        *,
        runs: tuple[RunRecord, ...] = (),
        urgent: bool = False,
        **context: Any,
    ) -> Step:
        """Step the state machine, save the result, then perform its effects; an ``urgent``
        save (a run's end) overtakes the ordinary ones queued in the store."""
        unit = Unit(job_id=self.state.id, urgent=urgent)
        step = self.stage(unit, inp, runs=runs, **context)
        await self.commit(unit)
        return step

    def stage(
        self, unit: Unit, inp: JobInput, *, runs: tuple[RunRecord, ...] = (), **context: Any
    ) -> Step:
        """Step the state machine into ``unit`` (saved by :meth:`commit`).

        A run the step dispatches is recorded as started in the same unit of work (see
        :meth:`~gnomon.actors.job.runs.RunTracker.started`): a crash after that commit
        finds it an orphan — at most once per attempt, never re-run blindly. The actor's
        state moves on at once; a store that cannot write (a full disk) makes the commit
        wait and retry the unit whole (docs/store.md), any other failure crashes the
        incarnation and its successor reloads the last committed state.
        """
        waits.sync(self, unit, inp)
        step = fsm.step(self.state, inp)
        unit.runs += runs
        if not step.ok:
            return step
        step, started = self.runs.started(step)
        unit.runs += started
        unit.events += (enrich(e, self.state, step.state, inp, **context) for e in step.events)
        unit.claims += claims_of(self.state, step)
        unit.changed |= not same_state(step.state, self.state)
        self.state = step.state
        for effect in step.effects:
            if isinstance(effect, ArmTimer | CancelTimer):
                self.perform(effect)
            else:
                unit.effects.append(effect)
        return step

    async def commit(self, unit: Unit) -> None:
        """Save ``unit`` (after any held skips) in one transaction, then perform its
        effects."""
        if self.held is not None:
            unit, self.held, self.held_until = self.held.then(unit), None, math.inf
        self.deps.fault("job.before_save")
        if unit.changed or unit.events or unit.claims:
            await self.deps.persistence.save(
                Save(
                    job=self.state,
                    claims=tuple(unit.claims),
                    runs=tuple(unit.runs),
                    events=tuple(unit.events),
                    urgent=unit.urgent,
                )
            )
        elif unit.runs:
            runs_only = Save(job_id=unit.job_id, runs=tuple(unit.runs), urgent=unit.urgent)
            await self.deps.persistence.save(runs_only)
        self.deps.note(self.state, self.next_timer(), False)
        self.deps.fault("job.after_save")
        for effect in unit.effects:
            self.perform(effect)

    def perform(self, effect: Effect) -> None:
        """Carry out one effect (saving already happened)."""
        match effect:
            case ArmTimer():
                self.timers[effect.kind, effect.cycle] = effect.at
            case CancelTimer():
                self.timers.pop((effect.kind, effect.cycle), None)
            case StartWait():
                waits.start(self.deps, self.state, effect)
            case StopWait():
                waits.stop(self.deps, self.state.id, effect.cycle)
            case StartRun():
                self.runs.start(effect)
            case KillRun():
                self.runs.kill(effect.run_id, effect.reason)
            case NotifyDependents():
                self.deps.notify_dependents(effect.job_id, effect.status)
            case StartTriggers():
                self.deps.start_triggers(effect, self.state)
            case RecordSkip():
                pass  # claimed and announced in the save itself

    # -- timers -----------------------------------------------------------------------

    def next_timer(self) -> datetime | None:
        return min(self.timers.values(), default=None)

    async def ring_due_timers(self) -> None:
        """Feed every due timer, earliest first (a step may arm more due timers), and save
        what they did as one unit: a job late by many slots (misfires, overlap skips)
        costs one commit, not one per slot."""
        unit = Unit(job_id=self.state.id)
        newest: list[datetime | None] = []  # the catch-up horizon, found once per ring
        while True:
            now = self.deps.clock.now()
            due = [(at, key) for key, at in self.timers.items() if at <= now]
            if not due:
                break
            at, (kind, cycle) = min(due, key=lambda d: d[0])
            del self.timers[kind, cycle]
            if kind is TimerKind.FIRE:
                self.stage(unit, self.fire_due(at, now, newest))
            else:
                self.stage(unit, fsm.due(kind, cycle, at, now))
        if unit.quiet() and trio.current_time() < self.held_until:
            if self.held is None:
                self.held_until = trio.current_time() + HOLD_SKIPS
            self.held = unit if self.held is None else self.held.then(unit)
            self.deps.note(self.state, self.next_timer(), False)
            return
        await self.commit(unit)

    def fire_due(self, at: datetime, now: datetime, newest: list[datetime | None]) -> JobInput:
        """The input of the fire timer due at ``at``: the slot and the one after it, or,
        when more than ``MAX_CATCH_UP`` slots are due, ``at`` and every slot before the
        newest ``MAX_CATCH_UP`` dropped at once (found arithmetically, never slot by slot;
        ``newest`` caches the oldest of those for the rest of this ring)."""
        schedule = self.state.spec.schedule
        due, at = at, self.state.next_fire_at or at  # the timer rings at the jittered slot
        nxt = self.deps.next_slot(schedule, at)
        if nxt is None or nxt > now:
            return self.one_slot(at, nxt, now, due)
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

    # -- messages ---------------------------------------------------------------------

    async def handle(self, msg: JobMessage) -> None:
        match msg:
            case JobCommand():
                await self.command(msg)
            case RunEnded():
                await self.runs.on_ended(msg)
            case Polled():
                await waits.polled(self, msg)

    async def command(self, msg: JobCommand) -> None:
        now = self.deps.clock.now()
        schedule = self.state.spec.schedule
        inp: JobInput
        match msg.op:
            case "inspect":
                msg.reply.send(CommandResult(state=self.state))
                return
            case "replace":
                msg.reply.send(await self.replace(msg))
                return
            case "pause":
                inp = fsm.Pause(now=now, reason=msg.reason)
            case "resume":
                inp = fsm.Resume(now=now, next_slot=self.deps.next_slot(schedule, now))
            case "cancel":
                inp = fsm.Cancel(now=now, reason=msg.reason)
            case "run_now":
                inp = fsm.RunNow(now=now, trigger=msg.trigger)
            case "backfill":
                assert msg.slot is not None
                inp = fsm.Backfill(now=now, slot=msg.slot)
            case "dependency_ended":
                assert msg.dep_id is not None
                assert msg.dep_status is not None
                inp = fsm.DependencyEnded(
                    now=now,
                    dep_id=msg.dep_id,
                    status=msg.dep_status,
                    next_slot=self.deps.next_slot(schedule, now),
                )
        step = await self.apply(inp)
        msg.reply.send(CommandResult(state=self.state, error=step.error))

    async def replace(self, msg: JobCommand) -> CommandResult:
        """``--replace`` (see :func:`~gnomon.actors.job.replace.replace`)."""
        return await replace(self, msg)

    # -- life -------------------------------------------------------------------------

    def idle(self) -> bool:
        """No message queued, nothing in flight but waits the shared pollers hold,
        nothing due within ``passivate_after``."""
        if self.ctx.inbox.depth or self.state.queued:
            return False
        if not waits.only_polled(self.deps, self.state):
            return False
        if self.runs or self.held is not None:
            return False
        nxt = self.next_timer()
        if nxt is None:
            return True
        return (nxt - self.deps.clock.now()).total_seconds() > self.deps.passivate_after

    def deadline(self) -> float:
        nxt = self.next_timer()
        due = math.inf if nxt is None else self.deps.clock.deadline_for(nxt)
        return min(due, self.held_until)

    def stopping(self) -> bool:
        """The supervisor asked this incarnation to stop (re-read on every call)."""
        return self.ctx.stop_requested

    async def loop(self) -> None:
        """Serve messages and timers until idle (passivate) or asked to stop (drain).

        An idle actor lingers ``deps.linger`` seconds before passivating, so the request
        that activated it (sent just after it became ready) finds it.
        """
        while not self.stopping():
            idle = self.idle()
            until = self.deadline()
            if idle:
                until = min(until, trio.current_time() + self.deps.linger)
            msg = await self.ctx.inbox.receive_until(until, draining=True)
            if msg is not None:
                await self.handle(msg)
            elif self.stopping():
                break
            elif idle and self.idle():
                self.deps.note(self.state, self.next_timer(), True)
                return
            else:
                await self.ring_due_timers()
        await self.drain()

    async def drain(self) -> None:
        """Let runs in flight finish and record their results — ended, or
        ``interrupted`` when the daemon's stop interrupts them (:mod:`~gnomon.actors.
        drain`). Waits stay with the shared pollers (stopped with the daemon)."""
        if self.runs:
            self.deps.drain.join(self.runs)
        try:
            while self.runs:
                msg = await self.ctx.inbox.receive_until(math.inf, draining=True)
                if isinstance(msg, RunEnded):
                    await self.handle(msg)
                elif isinstance(msg, JobCommand | Polled):
                    msg.reply.fail(NotFound(f"job {self.state.spec.name} is shutting down"))
        finally:
            self.deps.drain.leave(self.runs)
        if self.held is not None:
            await self.commit(Unit(job_id=self.state.id))
        self.deps.note(self.state, self.next_timer(), True)


def job_actor(deps: JobDeps, job_id: str) -> Any:
    """The actor of job ``job_id`` (see the module docstring)."""

    async def actor(ctx: ActorContext[Any]) -> None:
        ctx.ready()  # before loading, so mass activations do not queue behind store reads
        state = await deps.persistence.load(job_id)
        if state is None:
            return
        deps.fault("job.load")
        async with trio.open_nursery() as nursery:
            shell = JobShell(ctx, deps, state, nursery)
            now = deps.clock.now()
            await shell.apply(fsm.Recover(now=now, dependencies=deps.dependency_statuses(state)))
            await shell.loop()
            nursery.cancel_scope.cancel()

    return actor


def job_spec(deps: JobDeps, job_id: str, *, shutdown: float = 30.0) -> ChildSpec:
    """The child spec of a job actor: transient (a passivated job returns normally)."""
    return ChildSpec(
        id=job_id,
        kind=KIND,
        start=job_actor(deps, job_id),
        restart=Restart.TRANSIENT,
        shutdown=shutdown,
        mailbox_size=64,
    )
