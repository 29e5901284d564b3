"""A job the batch firer holds (:mod:`gnomon.actors.job.batch`): its core, its runs, the
ends it has not stepped yet, and what it needs when its heap entry comes due.

Pure bookkeeping for the firer's loop: nothing here awaits.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Literal

import attrs
import trio

from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.msgs import StartWait
from gnomon.actors.job import waits
from gnomon.actors.job.core import JobCore
from gnomon.actors.job.ports import JobDeps, RunEnded, Save
from gnomon.actors.job.run_pool import RunPool
from gnomon.actors.job.run_tracker import Deliver, RunTracker
from gnomon.actors.job.units import Unit
from gnomon.runtime.model.state import JobState


@attrs.define(eq=False)
class Held:
    """A job the firer owns."""

    core: JobCore
    runs: RunTracker
    ends: list[RunEnded] = attrs.field(factory=list)
    busy: bool = False  # a commit of this job is in flight
    mark: int = 0  # its current entry in the firer's heap
    settled: trio.Event | None = None  # set when that commit is done (made by a waiter)

    def wait_settled(self) -> trio.Event:
        """The event a commit in flight sets when it is done (made on first use: most
        commits have nobody waiting)."""
        if self.settled is None:
            self.settled = trio.Event()
        return self.settled

    def settle(self) -> None:
        """The commit in flight is done: wake whoever waits for it."""
        self.busy = False
        if self.settled is not None:
            self.settled.set()
            self.settled = None

    @property
    def id(self) -> str:
        return self.core.state.id

    def end_unit(self, deps: JobDeps, *, ring: bool) -> Unit:
        """Step the ends received (``ring``: and the timers they made due) into one
        urgent unit; the ends are consumed."""
        unit = Unit(job_id=self.id, urgent=True)
        for msg in self.ends:
            ended = self.runs.on_ended(msg)
            if ended is not None:
                deps.crash_point("before_finish_commit")
                self.core.end_run(unit, msg.start, ended, ring=ring)
        self.ends.clear()
        return unit


Sealed = tuple[Held, Unit, Save | None]


def seal(units: list[tuple[Held, Unit]]) -> list[Sealed]:
    """Seal each job's unit (``JobCore.seal``) and mark the job busy: from here on its
    commit owns it (a command waits for that commit: ``BatchFirer.release``)."""
    sealed: list[Sealed] = []
    for held, unit in units:
        unit, save = held.core.seal(unit)
        held.busy = True
        sealed.append((held, unit, save))
    return sealed


def ring_all(jobs: Mapping[str, Held | None], part: list[Held], mono: float) -> list[Sealed]:
    """Ring the due timers of each job of ``part`` still held in ``jobs`` (one handed to
    its actor meanwhile is skipped) and :func:`seal` the units, in one go: no job is ever
    stepped but not yet owned by its commit."""
    units = [
        (held, held.core.ring(mono) or Unit(job_id=held.id))
        for held in part
        if jobs.get(held.id) is held
    ]
    return seal(units)


def adopt(
    deps: JobDeps, state: JobState, now: datetime, pool: RunPool, deliver: Deliver
) -> Held | None:
    """A batch-held job for ``state`` after ``Recover`` — or ``None`` when recovering
    changes anything (its actor does that, as everything else that is not plain). A
    ``Recover`` that only resumes waits is fine: the caller took only jobs whose waits
    the pollers hold (``waits.batchable``), which keep their progress."""
    core = JobCore(deps, state)
    unit = Unit(job_id=state.id)
    core.stage(unit, fsm.Recover(now=now, dependencies=deps.dependency_statuses(state)))
    if unit or not all(isinstance(e, StartWait) for e in unit.effects):
        return None
    for effect in unit.effects:  # a wait the pollers hold already: it keeps its progress
        assert isinstance(effect, StartWait)
        waits.start(deps, core.state, effect)
    runs = RunTracker(core, pool, deliver)
    core.in_flight = runs.slots
    return Held(core=core, runs=runs)


def needs(held: Held, mono: float) -> Literal["end", "wait", "actor", "fire"]:
    """What a held job whose heap entry is due at trio time ``mono`` needs: its run's
    end stepped first (the end, then the slot: ``JobCore.end_run``), nothing yet (its
    fire timer is parked until its run ends: ``JobCore.parked``), its actor (a slot
    while its run is in flight: the overlap policy decides), or a fire."""
    if held.ends:
        return "end"
    if not held.runs:
        return "fire"
    return "wait" if held.core.deadline() > mono else "actor"


def sort_due(jobs: Iterable[Held], mono: float) -> tuple[list[Held], list[Held], list[Held]]:
    """The held jobs due at ``mono`` by what they :func:`needs`: a fire, their run's end
    stepped first, their actor (a job whose slot is parked waits: in none)."""
    fire: list[Held] = []
    end: list[Held] = []
    actor: list[Held] = []
    for held in jobs:
        match needs(held, mono):
            case "fire":
                fire.append(held)
            case "end":
                end.append(held)
            case "actor":
                actor.append(held)
    return fire, end, actor


class DueHeap:
    """The held jobs by deadline (monotonic). Pushing a job again leaves its older entry
    stale (its ``mark`` moves on); stale entries are dropped as they surface."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._count = 0

    def push(self, held: Held) -> None:
        """(Re)schedule ``held`` at its core's deadline (none: it leaves the heap)."""
        self._count += 1
        held.mark = self._count
        deadline = held.core.deadline()
        if deadline < math.inf:
            heapq.heappush(self._heap, (deadline, self._count, held.id))

    def next_deadline(self, held: Mapping[str, Held | None]) -> float:
        """The earliest live entry's deadline (``inf``: none)."""
        while self._heap:
            deadline, mark, job_id = self._heap[0]
            entry = held.get(job_id)
            if entry is not None and entry.mark == mark:
                return deadline
            heapq.heappop(self._heap)
        return math.inf

    def pop_due(self, mono: float, held: Mapping[str, Held | None]) -> Iterator[Held]:
        """Pop the live entries due at ``mono``: their jobs, not busy, in deadline order."""
        while self._heap and self._heap[0][0] <= mono:
            _, mark, job_id = heapq.heappop(self._heap)
            entry = held.get(job_id)
            if entry is not None and not entry.busy and entry.mark == mark:
                yield entry
