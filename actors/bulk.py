"""``job.create_many``: many specs in one admission pass and one store unit.

For the call, in order: names must differ among the specs (a later duplicate is
refused); in ``apply`` mode a spec equal to its live namesake's (same owner) is
``unchanged`` — nothing is checked, charged or written for it; then
:meth:`~gnomon.actors.admission.Admission.charge` once (the agents switch, then the rate
limits charged one token per remaining spec, all or nothing: a refusal fails the call).
Then per spec, in order: the token's limits (``max_jobs`` counts the new jobs admitted
before it, under the owner's lock held by the caller), admission's checks in the light of
the specs before it (:class:`~gnomon.actors.admission.Batch`: their names, ids and
edges), and dependencies that never end. A refused spec does not sink the others unless
the call is ``atomic``. New jobs are stored in **one** unit of work (all or none) and
indexed; replaced jobs are then updated by their own actors, one by one (a job may have
ended meanwhile: that spec is then refused, the others stay done).

An ``every`` schedule's anchor is set when its spec is parsed, so a re-applied file never
has the live one's: ``apply`` compares (and keeps) the live anchor when the interval and
jitter are the same, so re-applying leaves the job's grid alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

import attrs
import trio

from gnomon.actors.admission import Batch
from gnomon.actors.core.explain import hold
from gnomon.actors.job.ports import Save
from gnomon.runtime.errors import Conflict, GnomonError
from gnomon.runtime.model.job import CreatedBy, JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import Dependency, JobState
from gnomon.runtime.protocol_bulk import (
    CreatedJob,
    CreateManyResult,
    CreateMode,
    SpecError,
    SpecResult,
)

if TYPE_CHECKING:
    from gnomon.actors.engine import Engine

#: Token limits of one spec: ``(spec, replacing, new jobs admitted before it)`` → the
#: job's ``expires_at``; raises ``Refused`` (actors/agents.py ``Agents.admitting_many``).
SpecLimits = Callable[[JobSpec, bool, int], Awaitable[datetime | None]]


async def no_limits(spec: JobSpec, replacing: bool, new: int) -> datetime | None:
    """A caller without token limits: its jobs do not expire."""
    return None


@attrs.frozen(kw_only=True)
class BulkCreate:
    """One ``job.create_many`` call, as the engine takes it."""

    specs: tuple[JobSpec, ...]
    owner: Owner
    created_by: CreatedBy
    mode: CreateMode = "create"
    atomic: bool = False
    dry_run: bool = False
    limits: SpecLimits = no_limits


@attrs.frozen(kw_only=True)
class Update:
    """An admitted replacement of a live job, done by its actor after the new jobs."""

    deps: tuple[Dependency, ...]
    triggers: tuple[str, ...]
    expires_at: datetime | None


@attrs.define
class SpecOutcome:
    """What became of one spec: its result, the job's state (the live one when
    ``unchanged``, the first one when ``created`` — a preview in a dry run), the error."""

    spec: JobSpec
    result: SpecResult | None = None
    state: JobState | None = None
    error: GnomonError | None = None
    holder: str | None = None  # the live namesake (replace, apply)
    save: Save | None = None
    update: Update | None = None

    def refuse(self, exc: GnomonError) -> None:
        self.result, self.error = "refused", exc


def keep_anchor(spec: JobSpec, live: JobSpec) -> JobSpec:
    """``spec`` with ``live``'s interval anchor when both fire every same interval."""
    new, old = spec.schedule, live.schedule
    if (
        isinstance(new, IntervalSchedule)
        and isinstance(old, IntervalSchedule)
        and (new.every, new.jitter) == (old.every, old.jitter)
        and new.anchor != old.anchor
    ):
        return attrs.evolve(spec, schedule=attrs.evolve(new, anchor=old.anchor))
    return spec


def refuse_duplicates(items: list[SpecOutcome]) -> None:
    """Refuse every spec whose name an earlier spec of the call has."""
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.spec.name
        if name in first:
            item.refuse(
                Conflict(
                    f"spec {index} is named {name!r} like spec {first[name]} of this call",
                    hint="names must differ among the specs of one call",
                )
            )
        else:
            first[name] = index


def skip_all_if_refused(items: list[SpecOutcome]) -> bool:
    """``atomic``: when a spec was refused, the ones that would have been written become
    ``skipped`` (``unchanged`` ones stay so); whether so."""
    if not any(item.result == "refused" for item in items):
        return False
    for item in items:
        if item.result in ("created", "configured"):
            item.result, item.state, item.save = "skipped", None, None
    return True


class BulkCreator:
    """Runs one :class:`BulkCreate` over an :class:`~gnomon.actors.engine.Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.admission = engine.admission

    async def run(self, req: BulkCreate) -> list[SpecOutcome]:
        """See the module docstring.

        Raises:
            Refused: agents are switched off, or the rate limits refuse the batch.
            GnomonError: the store refused the unit (nothing was written).
        """
        now = self.engine.clock.now()
        items = [SpecOutcome(spec=spec) for spec in req.specs]
        refuse_duplicates(items)
        if req.mode != "create":
            await self._namesakes(items, req)
        todo = [item for item in items if item.result is None]
        self.admission.charge(req.owner, now, 0 if req.dry_run else len(todo))
        batch = Batch(reserve=not req.dry_run)
        try:
            for item in todo:
                await self._admit(item, req, now, batch)
            if (req.atomic and skip_all_if_refused(items)) or req.dry_run:
                return items
            await self._write(items, req, now)
        finally:
            self.admission.release(*batch.reserved)
        return items

    async def _namesakes(self, items: list[SpecOutcome], req: BulkCreate) -> None:
        """Find each spec's live namesake; in ``apply`` mode, mark the equal ones."""
        for item in items:
            if item.result is None:
                item.holder = self.engine.directory.live_name(item.spec.name)
        if req.mode != "apply":
            return
        held = {item.holder: item for item in items if item.holder is not None}
        live: dict[str, JobState | None] = {}

        async def load(job_id: str) -> None:
            live[job_id] = await self.engine.persistence.load(job_id)

        async with trio.open_nursery() as nursery:  # loads that arrive together: one read
            for job_id in held:
                nursery.start_soon(load, job_id)
        for job_id, item in held.items():
            state = live.get(job_id)
            if state is None or state.owner != req.owner:
                continue  # admission or the replace refuses it, naming the owner
            item.spec = keep_anchor(item.spec, state.spec)
            if item.spec == state.spec:
                item.result, item.state = "unchanged", state

    async def _admit(self, item: SpecOutcome, req: BulkCreate, now: datetime, batch: Batch) -> None:
        """Admit one spec against the batch so far; a refusal is recorded on ``item``. A
        new job's name is reserved right after the name check (no await between)."""
        spec, holder = item.spec, item.holder
        try:
            self._owned(spec, holder, req.owner)
            expires_at = await req.limits(spec, holder is not None, batch.new)
            admitted = self.admission.check_spec(spec, replacing=holder, batch=batch)
        except GnomonError as exc:
            item.refuse(exc)
            return
        state = None
        if holder is None:
            state = self.engine.new_state(
                spec, req.owner, req.created_by, triggers=admitted.triggers, now=now,
                expires_at=expires_at,
            )  # fmt: skip
            self._hold(batch, spec.name, state.id)
        try:
            await self.engine.check_dependencies(spec, admitted.depends_on, batch.specs)
            deps = self.engine.dependencies(admitted.depends_on, batch.specs)
            if state is not None:
                item.state, item.save = self.engine.first_save(state, deps, now)
        except GnomonError as exc:
            self._unhold(batch, spec.name)
            item.refuse(exc)
            return
        if state is None:
            item.result = "configured"
            item.update = Update(deps=deps, triggers=admitted.triggers, expires_at=expires_at)
        else:
            item.result = "created"
            batch.new += 1
        job_id = holder or (state.id if state is not None else "")
        batch.names[spec.name] = job_id
        batch.edges[job_id] = admitted.depends_on
        batch.specs[job_id] = spec

    def _hold(self, batch: Batch, name: str, job_id: str) -> None:
        if batch.reserve:
            self.admission.reserve(name, job_id)
            batch.reserved.append(name)

    def _unhold(self, batch: Batch, name: str) -> None:
        if batch.reserve and name in batch.reserved:
            batch.reserved.remove(name)
            self.admission.release(name)

    def _owned(self, spec: JobSpec, holder: str | None, owner: Owner) -> None:
        """Refuse updating a live job of another owner (as ``replace`` does)."""
        entry = self.engine.directory.get(holder) if holder is not None else None
        if entry is not None and entry.owner != str(owner):
            raise Conflict(
                f"job {spec.name!r} belongs to {entry.owner}; only its owner may replace it"
            )

    async def _write(self, items: list[SpecOutcome], req: BulkCreate, now: datetime) -> None:
        """One unit for every new job, then each replaced job through its actor."""
        new = [item for item in items if item.result == "created"]
        if new:
            await self.engine.persistence.save_all([item.save for item in new if item.save])
            for item in new:
                if item.state is not None:
                    self.engine.index_new(item.state)
        for item in items:
            update, holder = item.update, item.holder
            if item.result != "configured" or update is None or holder is None:
                continue
            try:
                item.state = await self.engine.replace_live(
                    holder, item.spec, req.owner, update.deps, update.triggers, now,
                    update.expires_at,
                )  # fmt: skip
            except GnomonError as exc:
                item.refuse(exc)


def answer(
    items: list[SpecOutcome],
    *,
    dry_run: bool,
    first_slot: Callable[[JobSpec], datetime | None],
) -> CreateManyResult:
    """The compact ``job.create_many`` answer: per spec its id, name, next fire and hold
    (a dry run's new jobs have no id yet; its updates show their first slot)."""
    jobs = []
    for item in items:
        state = item.state
        job_id = state.id if state is not None else None
        fire = state.next_fire_at if state is not None else None
        if dry_run and item.result == "created":
            job_id = None  # not taken yet
        if dry_run and item.result == "configured":
            job_id, fire = item.holder, first_slot(item.spec)
        jobs.append(
            CreatedJob(
                name=item.spec.name,
                result=item.result or "refused",
                id=job_id,
                next_fire_at=fire,
                hold=hold(state) if state is not None else None,
                error=SpecError.of(item.error) if item.error is not None else None,
            )
        )
    return CreateManyResult.of(tuple(jobs), dry_run=dry_run)
