"""The runs of one job actor: start tasks, kill them, and turn their ends into inputs.

Each run is a task in the job actor's nursery under its own cancel scope, which a kill
cancels and whose deadline is the action's timeout
(:func:`gnomon.actors.job.perform.perform_run`). A run is recorded as started in the same unit
of work as the step that dispatched it (``JobCore.started``: the claim of its slot,
its retry, its satisfied wait), before its task exists — so a daemon killed at any later
moment finds the attempt started, an orphan to kill and retry per policy, and never runs
it again blindly (at most once per attempt). Its pid/pgid are saved as soon as the
process exists, and its end together with the state-machine step it causes
(:meth:`RunTracker.on_ended`). A killed run's record is saved as ``cancelled`` even
though the state machine, which killed it, ignores its result. A run interrupted by a
daemon stop (:meth:`RunTracker.interrupt`, see :mod:`gnomon.actors.drain`) is saved as
``interrupted`` with the output it printed so far, and the state machine re-queues it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs
import trio

from gnomon.actors.core.breaker.keys import job_action_key
from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.msgs import StartRun
from gnomon.actors.drain import InFlight
from gnomon.actors.exec.interface import OutputTap, RunContext
from gnomon.actors.job.perform import RunEnd, RunPlan, perform_run, spawn_recorder
from gnomon.actors.job.ports import RunEnded, Save
from gnomon.actors.job.run_pool import RunPool
from gnomon.runtime import procs
from gnomon.runtime.errors import ActorGone
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.state import RunRecord

if TYPE_CHECKING:
    from gnomon.actors.job.core import JobCore

Deliver = Callable[[RunEnded], Awaitable[None]]


@attrs.define
class RunSlot:
    """One run in flight: its cancel scope, and where its end goes (its job's current
    owner: a job actor's mailbox, or the batch firer; changed when the job is handed
    over)."""

    start: StartRun
    scope: trio.CancelScope
    deliver: Deliver
    record: RunRecord | None = None
    killed: str | None = None
    interrupted: bool = False
    tap: OutputTap = attrs.field(factory=OutputTap)


class RunTracker:
    """The runs in flight of one job: served by ``pool`` (tasks in its owner's nursery),
    their ends go to ``deliver``.

    Used by the job's actor and, for a plain job, by the batch firer (whichever owns
    the job); :meth:`adopt` takes over the runs of the previous owner.
    """

    __slots__ = ("core", "deliver", "pool", "slots")

    def __init__(self, core: JobCore, pool: RunPool, deliver: Deliver) -> None:
        self.core = core
        self.pool = pool
        self.deliver = deliver
        self.slots: dict[str, RunSlot] = {}

    def __bool__(self) -> bool:
        return bool(self.slots)

    def start(self, start: StartRun) -> None:
        """Run ``start`` (recorded as started by ``JobCore.started`` in the saved step)."""
        if start.run_id in self.slots:  # already in flight: never run one id twice
            return
        record = self.core.take_record(start)
        slot = RunSlot(start=start, scope=trio.CancelScope(), deliver=self.deliver, record=record)
        self.slots[start.run_id] = slot
        self.pool.submit(functools.partial(self._task, slot))

    def adopt(self, slots: dict[str, RunSlot]) -> None:
        """Take over ``slots`` (runs a previous owner started): their ends come here."""
        for run_id, slot in slots.items():
            slot.deliver = self.deliver
            self.slots[run_id] = slot

    def kill(self, run_id: str, reason: str) -> None:
        slot = self.slots.get(run_id)
        if slot is not None:
            slot.killed = reason
            slot.scope.cancel()

    def in_flight(self) -> list[InFlight]:
        """The runs not yet ended (for a stopping daemon's report)."""
        state = self.core.state
        return [
            InFlight(
                job=state.spec.name,
                job_id=state.id,
                run_id=run_id,
                started_at=slot.record.started_at if slot.record else self.core.deps.clock.now(),
            )
            for run_id, slot in self.slots.items()
        ]

    def interrupt(self, reason: str) -> None:
        """Kill every run in flight for a daemon stop: each ends ``interrupted``."""
        for slot in self.slots.values():
            if slot.killed is None:
                slot.killed, slot.interrupted = reason, True
                slot.scope.cancel()

    async def _task(self, slot: RunSlot) -> None:
        deps, start = self.core.deps, slot.start
        self.core.began[start.run_id] = deps.clock.now()  # its fire timers wait no more
        state = self.core.state  # as it was when the run started
        spec = state.spec

        async def persist_spawn(pid: int, pgid: int) -> None:
            if slot.record is not None:
                ident = procs.identify(pid, pgid)
                slot.record = attrs.evolve(
                    slot.record,
                    pid=pid,
                    pgid=pgid,
                    proc_start=ident.start_time,
                    host_boot=ident.boot_id,
                )
                save = Save(job_id=state.id, runs=(slot.record,), urgent=True)
                await deps.persistence.save(save)

        context = RunContext(
            job_id=state.id,
            job_name=spec.name,
            run_id=start.run_id,
            fire_time=start.fire_time,
            attempt=start.attempt,
            owner=state.owner,
            timeout=start.timeout,
            i_know=spec.i_know,
            cwd=spec.cwd,
            env=dict(spec.env),
            created_by=state.created_by,
            on_spawn=spawn_recorder(persist_spawn, lambda: deps.crash_point("after_process_spawn")),
            tap=slot.tap,
        )
        plan = RunPlan(
            context=context,
            action=start.action,
            breaker_key=job_action_key(spec, start.action, default_model=deps.default_model),
        )
        end = await perform_run(plan, deps.runs, slot)
        with contextlib.suppress(ActorGone):  # its owner crashed: the restart recovers it
            await slot.deliver(RunEnded(start=start, end=end, killed=slot.killed is not None))

    def on_ended(self, msg: RunEnded) -> tuple[fsm.RunFinished, RunRecord, RunEnd] | None:
        """A run's end as the state machine input, the final run record and the end to
        stage with them (``None``: it never started, nothing happened outside)."""
        slot = self.slots.pop(msg.start.run_id, None)
        self.core.began.pop(msg.start.run_id, None)
        now = self.core.deps.clock.now()
        end = msg.end
        if end is None:
            if slot is None or slot.record is None:
                return None
            end = RunEnd(
                run_id=msg.start.run_id,
                outcome=Outcome.INTERRUPTED if slot.interrupted else Outcome.CANCELLED,
                finished_at=now,
                started_at=slot.record.started_at,
            )
        record = self._final(slot, msg.start, end)
        return self.core.run_finished(end, record), record, end

    def _final(self, slot: RunSlot | None, start: StartRun, end: RunEnd) -> RunRecord:
        base = slot.record if slot is not None else None
        if base is None:
            base = self.core.record(start, end)
        result = end.result
        return attrs.evolve(
            base,
            finished_at=end.finished_at,
            outcome=end.outcome,
            exit_code=None if result is None else result.exit_code,
            output=(slot.tap.read() if slot else "") if result is None else result.output,
            error=end.error or _kill_error(slot),
            pid=base.pid if result is None or result.pid is None else result.pid,
            pgid=base.pgid if result is None or result.pgid is None else result.pgid,
            tokens=None if result is None else result.tokens,
            cost_usd=None if result is None else result.cost_usd,
        )


def _kill_error(slot: RunSlot | None) -> str:
    """The error of a run killed from outside: the interruption's reason as given, a
    cancellation's prefixed."""
    if slot is None or slot.killed is None:
        return ""
    return slot.killed if slot.interrupted else f"run cancelled: {slot.killed}"
