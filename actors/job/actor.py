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

import logging
import math
from datetime import datetime
from typing import Any

import attrs
import trio

from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.msgs import (
    Effect,
    JobInput,
    Step,
)
from gnomon.actors.job import waits
from gnomon.actors.job.core import JobCore, TimerKey, perform
from gnomon.actors.job.ports import (
    CommandResult,
    JobCommand,
    JobDeps,
    JobMessage,
    Polled,
    RunEnded,
)
from gnomon.actors.job.replace import replace
from gnomon.actors.job.run_pool import RunPool
from gnomon.actors.job.run_tracker import RunSlot, RunTracker
from gnomon.actors.job.units import Unit
from gnomon.runtime.actor import ActorContext
from gnomon.runtime.errors import NotFound
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.store import PartitionMoved
from gnomon.runtime.supervisor import ChildSpec, Restart

log = logging.getLogger("gnomon.engine")

KIND = "job"


class JobShell:
    """The mailbox side of one job actor incarnation: the step/commit logic is its
    :class:`~gnomon.actors.job.core.JobCore`'s."""

    __slots__ = ("core", "ctx", "deps", "nursery", "runs")

    def __init__(
        self,
        ctx: ActorContext[Any],
        deps: JobDeps,
        state: JobState,
        nursery: trio.Nursery,
        core: JobCore | None = None,
    ) -> None:
        self.ctx = ctx
        self.deps = deps
        self.nursery = nursery
        self.core = core or JobCore(deps, state)
        self.runs = RunTracker(self.core, RunPool(nursery), ctx.ref.tell)
        self.core.in_flight = self.runs.slots

    @property
    def state(self) -> JobState:
        return self.core.state

    @state.setter
    def state(self, state: JobState) -> None:
        self.core.state = state

    @property
    def timers(self) -> dict[TimerKey, datetime]:
        return self.core.timers

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
        """:meth:`JobCore.stage <gnomon.actors.job.core.JobCore.stage>`: a store that
        cannot write (a full disk) makes the commit wait and retry the unit whole
        (docs/store.md), any other failure crashes the incarnation and its successor
        reloads the last committed state."""
        return self.core.stage(unit, inp, runs=runs, **context)

    async def commit(self, unit: Unit) -> None:
        """Save ``unit`` (after any held skips) in one transaction, then perform its
        effects."""
        unit, save = self.core.seal(unit)
        self.deps.fault("job.before_save")
        if save is not None:
            await self.deps.persistence.save(save)
        for effect in self.core.committed(unit):
            self.perform(effect)

    def perform(self, effect: Effect) -> None:
        """Carry out one effect (saving already happened)."""
        perform(self.core, self.runs, effect)

    # -- timers -----------------------------------------------------------------------

    def next_timer(self) -> datetime | None:
        return self.core.next_timer()

    async def ring_due_timers(self) -> None:
        """Feed every due timer and save what they did as one unit
        (:meth:`JobCore.ring <gnomon.actors.job.core.JobCore.ring>`)."""
        unit = self.core.ring(trio.current_time())
        if unit is not None:
            await self.commit(unit)

    # -- messages ---------------------------------------------------------------------

    async def handle(self, msg: JobMessage) -> None:
        match msg:
            case JobCommand():
                await self.command(msg)
            case RunEnded():
                await self.run_ended(msg)
            case Polled():
                await waits.polled(self, msg)

    async def run_ended(self, msg: RunEnded) -> None:
        """Record a run's end and feed it to the state machine (urgent: its latency is
        the run's), with the timers due now behind it (``JobCore.end_run``)."""
        ended = self.runs.on_ended(msg)
        if ended is None:
            return
        self.deps.crash_point("before_finish_commit")
        unit = Unit(job_id=self.state.id, urgent=True)
        self.core.end_run(unit, msg.start, ended, ring=not self.stopping())
        await self.commit(unit)

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
                inp = fsm.Resume(now=now, next_slot=next_fire(schedule, now))
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
                    next_slot=next_fire(schedule, now),
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
        if self.runs or self.core.held is not None:
            return False
        nxt = self.next_timer()
        if nxt is None:
            return True
        return (nxt - self.deps.clock.now()).total_seconds() > self.deps.passivate_after

    def deadline(self) -> float:
        return self.core.deadline()

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
        if self.core.held is not None:
            await self.commit(Unit(job_id=self.state.id))
        self.deps.note(self.state, self.next_timer(), True)


@attrs.frozen(kw_only=True)
class Handoff:
    """A job the batch firer hands to its actor: the core as the batch holds it (state
    and timers, all committed), its runs in flight (cancel scopes and all; their ends
    come to the actor from now on) and the ends the batch received but did not step."""

    core: JobCore
    runs: dict[str, RunSlot] = attrs.field(factory=dict)
    ends: tuple[RunEnded, ...] = ()


def job_actor(deps: JobDeps, job_id: str, handoff: Handoff | None = None) -> Any:
    """The actor of job ``job_id`` (see the module docstring); started from ``handoff``
    it takes the batch firer's core and runs as they are (no load, no ``Recover``) —
    once: a restart after a crash loads the committed state like any other. A write the
    cluster's fence refuses because the job's partition moved ends the actor normally
    (not a crash: a fenced node's actors must not exhaust the jobs supervisor)."""
    return _JobActor(deps, job_id, handoff)


class _JobActor:
    """:func:`job_actor`'s actor function: a slotted object (one per activation, so smaller
    than the two closures and their cells it replaces)."""

    __slots__ = ("deps", "handoff", "job_id")

    def __init__(self, deps: JobDeps, job_id: str, handoff: Handoff | None) -> None:
        self.deps, self.job_id, self.handoff = deps, job_id, handoff

    async def __call__(self, ctx: ActorContext[Any]) -> None:
        try:
            await self._body(ctx)
        except* PartitionMoved:  # a cluster fence: the job is another node's now
            log.info("job %s: its partition moved to another node; its actor stops", self.job_id)

    async def _body(self, ctx: ActorContext[Any]) -> None:
        ctx.ready()  # before loading, so mass activations do not queue behind store reads
        deps = self.deps
        if self.handoff is not None:
            handoff, self.handoff = self.handoff, None  # once: a restart loads the state
            async with trio.open_nursery() as nursery:
                shell = JobShell(ctx, deps, handoff.core.state, nursery, core=handoff.core)
                shell.runs.adopt(handoff.runs)
                for end in handoff.ends:
                    await shell.run_ended(end)
                await shell.loop()
                nursery.cancel_scope.cancel()
            return
        state = await deps.persistence.load(self.job_id)
        if state is None:
            return
        deps.fault("job.load")
        async with trio.open_nursery() as nursery:
            shell = JobShell(ctx, deps, state, nursery)
            now = deps.clock.now()
            await shell.apply(fsm.Recover(now=now, dependencies=deps.dependency_statuses(state)))
            await shell.loop()
            nursery.cancel_scope.cancel()


def job_spec(
    deps: JobDeps, job_id: str, *, shutdown: float = 30.0, handoff: Handoff | None = None
) -> ChildSpec:
    """The child spec of a job actor: transient (a passivated job returns normally)."""
    return ChildSpec(
        id=job_id,
        kind=KIND,
        start=job_actor(deps, job_id, handoff),
        restart=Restart.TRANSIENT,
        shutdown=shutdown,
        mailbox_size=64,
    )
