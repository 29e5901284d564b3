"""The engine's front: create jobs, operate on them, fan out their news.

Creating a job does not need its actor: admission, then the pure state machine's
``Created`` step, then one save (state, events) — after which the directory indexes the
job and activates it only if it has something to do now (a ``when-ready`` wait, a fire
that is already due); otherwise it sleeps in the deadline heap. Operations (pause,
resume, cancel, run now, inspect) are requests routed through the directory.

Job actors report ends that concern other jobs — dependency news and trigger templates
to clone — to the engine's worker (``actors/engine_worker.py``), never blocking.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import attrs

from gnomon.actors.admission import Admission
from gnomon.actors.bulk import BulkCreate, BulkCreator, SpecOutcome
from gnomon.actors.core.job import fsm
from gnomon.actors.directory import JobDirectory, JobEntry
from gnomon.actors.engine_worker import EngineQueue
from gnomon.actors.job.ports import CommandResult, JobCommand, Op, Save
from gnomon.actors.job.units import claims_of
from gnomon.actors.persistence import EnginePersistence
from gnomon.runtime.clock import Clock
from gnomon.runtime.errors import Conflict, NotFound
from gnomon.runtime.model import payloads
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.model.job import ID_HEX_DIGITS, CreatedBy, JobSpec, Owner
from gnomon.runtime.model.schedule import OnceSchedule, Schedule
from gnomon.runtime.model.state import Dependency, JobState

log = logging.getLogger("gnomon.engine")


class _JobIds:
    """Random hex ids of ``ID_HEX_DIGITS`` characters: short enough to type, unique enough
    to never clash.

    The bytes come from ``os.urandom`` (as ``secrets.token_hex``'s do), read 4 KiB at a
    time: one system call per few hundred ids instead of one each (a bulk create makes
    thousands at once). Called on the trio thread only.
    """

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def __call__(self) -> str:
        size = ID_HEX_DIGITS // 2
        if self._at + size > len(self._pool):
            self._pool, self._at = os.urandom(4096), 0
        start, self._at = self._at, self._at + size
        return self._pool[start : self._at].hex()


new_job_id = _JobIds()


def entry_of(state: JobState, wake: datetime | None) -> JobEntry:
    """The directory's view of a job state."""
    return JobEntry(
        id=state.id,
        name=state.spec.name,
        status=state.status,
        wake=wake,
        owner=sys.intern(str(state.owner)),  # owners are few: one string each, not one a job
        depends_on=state.depends_on_ids,
    )


class Engine:
    """See the module docstring."""

    def __init__(
        self,
        *,
        persistence: EnginePersistence,
        directory: JobDirectory,
        admission: Admission,
        clock: Clock,
        queue: EngineQueue,
        ids: Callable[[], str] = new_job_id,
        observe: Callable[[JobState], None] = lambda state: None,
        overlay: Callable[[JobState], JobState] = lambda state: state,
    ) -> None:
        """``queue``: the worker's (new jobs to activate go there); ``observe`` sees every
        state the directory indexes (the per-job metrics); ``overlay`` lays over a committed
        state what only memory knows: its waits' poll count and last result
        (``WaitPollers.overlay``)."""
        self.persistence = persistence
        self.directory = directory
        self.admission = admission
        self.clock = clock
        self.ids = ids
        self._queue = queue
        self._observe = observe
        self._overlay = overlay

    # -- hooks used by job actors -------------------------------------------------------

    def note(self, state: JobState, wake: datetime | None, passivate: bool) -> None:
        """Index a job's current state (and its wake time when it gives up its actor);
        ``observe`` sees it too (the per-job metrics)."""
        self.directory.note(entry_of(state, wake), passivate=passivate)
        self._observe(state)

    def dependency_statuses(self, state: JobState) -> tuple[Dependency, ...]:
        """The dependencies with the final status of those that ended, per the index."""
        out = []
        for dep in state.dependencies:
            entry = self.directory.lookup(dep.id)
            ended = entry.status if entry is not None and entry.status.terminal else None
            out.append(attrs.evolve(dep, status=ended or dep.status))
        return tuple(out)

    # -- creating -----------------------------------------------------------------------

    def first_slot(self, schedule: Schedule, now: datetime) -> datetime | None:
        """The schedule's first slot: a one-shot's own time (even if past), else the next."""
        if isinstance(schedule, OnceSchedule):
            return schedule.at
        return next_fire(schedule, now)

    async def create(
        self,
        spec: JobSpec,
        owner: Owner,
        created_by: CreatedBy | None = None,
        *,
        internal: bool = False,
        expires_at: datetime | None = None,
        template: JobState | None = None,
        replace: bool = False,
    ) -> JobState:
        """Admit and store a new job; return its first state.

        With ``replace``, a live job of the same name (and the same owner) takes the new
        spec in place instead — same id, history kept — and emits ``job.updated``; a given
        ``expires_at`` renews its TTL (an agent re-scheduling its recurring job).

        Raises:
            Refused, InvalidInput, Conflict, NotFound: admission refused it (InvalidInput
                also for ``depends_on`` a recurring or manual job, which never ends).
        """
        now = self.clock.now()
        holder = self.directory.live_name(spec.name) if replace else None
        admitted = self.admission.check(spec, owner, now, internal=internal, replacing=holder)
        if holder is not None:
            await self.check_dependencies(spec, admitted.depends_on)
            deps = self.dependencies(admitted.depends_on)
            return await self.replace_live(
                holder, spec, owner, deps, admitted.triggers, now, expires_at
            )
        state = template or self.new_state(
            spec, owner, created_by, triggers=admitted.triggers, now=now, expires_at=expires_at
        )
        self.admission.reserve(spec.name, state.id)  # with the check: no await between
        try:
            await self.check_dependencies(spec, admitted.depends_on)
            first, save = self.first_save(state, self.dependencies(admitted.depends_on), now)
            await self.persistence.save(save)
            self.index_new(first)
        finally:
            self.admission.release(spec.name)
        return first

    def dependencies(
        self, dep_ids: tuple[str, ...], pending: Mapping[str, JobSpec] | None = None
    ) -> tuple[Dependency, ...]:
        """The ``Dependency`` records of admitted dependency ids (final status if ended);
        ``pending``: specs of a bulk create not indexed yet, by id (for their names)."""
        pending = pending or {}
        return tuple(
            Dependency(
                id=d,
                name=pending[d].name if d in pending else self._name_of(d),
                status=self._final_status(d),
            )
            for d in dep_ids
        )

    def new_state(
        self,
        spec: JobSpec,
        owner: Owner,
        created_by: CreatedBy | None,
        *,
        triggers: tuple[str, ...],
        now: datetime,
        expires_at: datetime | None,
    ) -> JobState:
        """A new job's state before its ``Created`` step (a fresh id)."""
        return JobState(
            id=self.ids(),
            spec=spec,
            owner=owner,
            created_by=created_by or CreatedBy(),
            created_at=now,
            updated_at=now,
            trigger_ids=triggers,
            expires_at=expires_at,
        )

    def first_save(
        self, state: JobState, deps: tuple[Dependency, ...], now: datetime
    ) -> tuple[JobState, Save]:
        """The ``Created`` step of ``state``: its first state, and the save of it with its
        claims and events.

        Raises:
            Conflict: the state machine refused the step.
        """
        spec = state.spec
        inp = fsm.Created(
            now=now, first_slot=self.first_slot(spec.schedule, now), dependencies=deps
        )
        step = fsm.step(state, inp)
        if not step.ok:
            raise Conflict(step.error or "the job could not be created")
        events = tuple(
            e.with_payload(payloads.Created(spec.action.TAG).write(e.payload))
            if e.type is EventType.JOB_CREATED
            else e
            for e in step.events
        )
        save = Save(job=step.state, claims=claims_of(state, step), events=events, client=True)
        return step.state, save

    async def replace_live(
        self,
        job_id: str,
        spec: JobSpec,
        owner: Owner,
        deps: tuple[Dependency, ...],
        triggers: tuple[str, ...],
        now: datetime,
        expires_at: datetime | None = None,
    ) -> JobState:
        entry = self.directory.get(job_id)
        if entry is not None and entry.owner != str(owner):
            raise Conflict(
                f"job {spec.name!r} belongs to {entry.owner}; only its owner may replace it"
            )
        result: CommandResult = await self.directory.ask(
            job_id,
            lambda: JobCommand(
                op="replace",
                spec=spec,
                dependencies=deps,
                trigger_ids=triggers,
                first_slot=self.first_slot(spec.schedule, now),
                expires_at=expires_at,
            ),
        )
        if result.error is not None:
            raise Conflict(result.error)
        return result.state

    async def check_dependencies(
        self,
        spec: JobSpec,
        dep_ids: tuple[str, ...],
        pending: Mapping[str, JobSpec] | None = None,
    ) -> None:
        """Refuse live dependencies that never end (recurring, manual); see admission.
        ``pending``: specs of a bulk create not stored yet, by job id (they win over the
        store: a replaced job's new spec counts)."""
        pending = pending or {}
        live = [d for d in dep_ids if d not in pending and not self._final_status(d)]
        states = [s for s in [await self.persistence.load(d) for d in live] if s is not None]
        ahead = [pending[d] for d in dep_ids if d in pending]
        self.admission.check_dependencies(spec, states, ahead)

    def index_new(self, state: JobState) -> None:
        """Index a job just stored (and activate it if it has something to do now)."""
        timers = fsm.timers(state)
        wake = min(timers.values(), default=None)
        busy = bool(state.fires or state.queued)
        self.note(state, None if busy else wake, not busy)
        if busy:
            self._queue.activate(state.id)

    def _name_of(self, job_id: str) -> str:
        entry = self.directory.lookup(job_id)
        return entry.name if entry is not None else job_id

    def _final_status(self, job_id: str) -> JobStatus | None:
        entry = self.directory.lookup(job_id)
        return entry.status if entry is not None and entry.status.terminal else None

    async def create_many(self, request: BulkCreate) -> list[SpecOutcome]:
        """Admit and store many jobs in one pass (``job.create_many``; actors/bulk.py).

        Raises:
            Refused: agents are switched off, or the rate limits refuse the batch.
        """
        return await BulkCreator(self).run(request)

    # -- operating ----------------------------------------------------------------------

    async def command(
        self,
        ref: str,
        op: Op,
        *,
        reason: str = "",
        trigger: str | None = None,
        slot: datetime | None = None,
    ) -> JobState:
        """Apply ``op`` to the job ``ref`` (id, unique prefix or live name).

        Raises:
            NotFound: no such job.
            Conflict: the operation is illegal in the job's current status (the message
                says why, e.g. "cannot resume job x: it is running, not paused").
        """
        job_id = self.directory.resolve(ref)
        result: CommandResult = await self.directory.ask(
            job_id, lambda: JobCommand(op=op, reason=reason, trigger=trigger, slot=slot)
        )
        if result.error is not None:
            raise Conflict(result.error)
        return result.state

    async def clear(self, job_ids: Sequence[str]) -> None:
        """Delete finished jobs' records and drop them from the directory (``job.clear``);
        an id the directory holds as live is left alone.

        Raises:
            StoreUnavailable: the store cannot write; nothing was deleted or forgotten.
        """
        gone = [j for j in job_ids if (e := self.directory.get(j)) is None or e.status.terminal]
        if gone:
            await self.persistence.delete(gone)
        for job_id in gone:
            self.directory.forget(job_id)

    async def get(self, ref: str) -> JobState:
        """The job's committed state, with its waits' in-memory progress laid over it.

        Raises:
            NotFound: no such job.
        """
        job_id = self.directory.resolve(ref)
        state = await self.persistence.load(job_id)
        if state is None:
            raise NotFound(f"no job {ref!r}")
        return self._overlay(state)
