"""RPC handlers of the schedule features: exclusion calendars (``calendar.add|list|remove``)
and ``job.backfill``.

**Backfill** fires every slot of a recurring job in ``[start, end]`` (its schedule's slots,
as :func:`~gnomon.runtime.model.firing.slots_between` finds them) that is neither claimed
already (it fired, or an earlier backfill fired it) nor excluded by one of the job's
calendars, at most ``max_parallel`` at once, each as a fire whose slot is claimed in the
store like a scheduled one: running the same backfill again fires nothing. The call
returns when every fire it started has ended. Cancelling it (the client goes away) starts
no further slot; fires already started run to their end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import trio

from gnomon.actors.calendars import SWITCH, ExclusionBook, adding, removing
from gnomon.actors.tree import EngineTree
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import Conflict, InvalidInput, NotFound, Refused
from gnomon.runtime.model.exclusions import ExclusionCalendar, make_calendar
from gnomon.runtime.model.firing import slots_between
from gnomon.runtime.model.job import NAME_FORMS, NAME_RE
from gnomon.runtime.model.state import JobState
from gnomon.runtime.protocol import Count, Empty
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_schedules import (
    MAX_BACKFILL_SLOTS,
    BackfillParams,
    BackfillResult,
    BackfillSlot,
    CalendarAddParams,
    CalendarList,
    CalendarNameParams,
)
from gnomon.runtime.store import Store

Handler = Callable[[Caller, Any], Awaitable[Any]]
#: How often a backfill looks whether its fires in flight have ended (seconds).
POLL = 0.2


@attrs.define
class ScheduleMethods:
    """The handlers, over the engine, the store and the daemon's exclusion book."""

    tree: EngineTree
    store: Store
    book: ExclusionBook
    lock: trio.Lock = attrs.field(factory=trio.Lock)

    def handlers(self) -> dict[str, Handler]:
        """Method name → handler, for the gateway."""
        return {
            names.CALENDAR_ADD: self.calendar_add,
            names.CALENDAR_LIST: self.calendar_list,
            names.CALENDAR_REMOVE: self.calendar_remove,
            names.JOB_BACKFILL: self.backfill,
        }

    # -- calendars ----------------------------------------------------------------------

    async def calendar_add(self, caller: Caller, p: CalendarAddParams) -> ExclusionCalendar:
        """Add (or with ``replace``, overwrite) a calendar and persist the book.

        Raises:
            InvalidInput: a bad name, zone, date or window.
            Conflict: the name exists and ``replace`` is not set.
        """
        if not NAME_RE.match(p.name):
            raise InvalidInput(
                f"bad calendar name {p.name!r}", token=p.name, accepted=NAME_FORMS[:1]
            )
        calendar = make_calendar(p.name, p.tz, p.dates, p.windows)
        async with self.lock:
            stored = await self.store.update_switch(SWITCH, adding(calendar, replace=p.replace))
            self.book.adopt(stored)
            self.book.version += 1
        return calendar

    async def calendar_list(self, caller: Caller, p: Empty) -> CalendarList:
        cals = self.book.calendars
        return CalendarList(calendars=tuple(cals[n] for n in sorted(cals)))

    async def calendar_remove(self, caller: Caller, p: CalendarNameParams) -> Count:
        """Remove a calendar; jobs that name it exclude nothing by it any more.

        Raises:
            NotFound: no calendar of that name.
        """
        async with self.lock:
            self.book.adopt(await self.store.update_switch(SWITCH, removing(p.name)))
            self.book.version += 1
        return Count(count=1)

    # -- backfill -----------------------------------------------------------------------

    async def backfill(self, caller: Caller, p: BackfillParams) -> BackfillResult:
        """See the module docstring.

        Raises:
            NotFound: no such job.
            Refused: an agent's call for another owner's job.
            InvalidInput: ``end`` before ``start``, or more than
                :data:`MAX_BACKFILL_SLOTS` slots.
        """
        job_id, owner = await self._resolve(p.ref)
        if caller.agent and owner != caller.owner:
            raise Refused("an agent may backfill its own jobs only", reason="owner")
        state = await self._state(job_id)
        plan = await self._plan(state, p)
        if p.dry_run:
            return BackfillResult(job_id=job_id, name=state.spec.name, slots=tuple(plan))
        todo = [i for i, s in enumerate(plan) if s.status == "pending"]
        limiter = trio.CapacityLimiter(p.max_parallel)
        async with trio.open_nursery() as nursery:
            for index in todo:
                await limiter.acquire_on_behalf_of(index)
                nursery.start_soon(self._fire_one, job_id, plan, index, limiter)
        return BackfillResult(job_id=job_id, name=state.spec.name, slots=tuple(plan))

    async def _resolve(self, ref: str) -> tuple[str, str | None]:
        """The id and owner of the job ``ref`` names: this node's directory, else (a
        cluster) the shared database — another node's job is backfilled through it.

        Raises:
            NotFound: no such job. InvalidInput: an ambiguous prefix.
        """
        directory, remote = self.tree.directory, self.tree.remote
        try:
            job_id = directory.resolve(ref)
        except NotFound:
            if remote is None:
                raise
            found = await remote.find(ref)
            return found.id, found.owner
        entry = directory.get(job_id)
        return job_id, None if entry is None else entry.owner

    async def _state(self, job_id: str) -> JobState:
        """The job as this node's engine has it, else as stored (another node's job).

        Raises:
            NotFound: neither knows it.
        """
        try:
            return await self.tree.engine.get(job_id)
        except NotFound:
            if self.tree.remote is None or (state := await self.store.get_job(job_id)) is None:
                raise
            return state

    async def _fire(self, job_id: str, slot: datetime) -> None:
        """Fire ``slot`` through this node's engine, or through the node owning the job.

        Raises:
            Conflict, NotFound: the (owner's) engine refused. AskTimeout: no answer.
        """
        remote = self.tree.remote
        if remote is None or self.tree.directory.get(job_id) is not None or remote.here(job_id):
            await self.tree.engine.command(job_id, "backfill", slot=slot)
        else:
            await remote.command(job_id, "backfill", {"slot": slot.isoformat()})

    async def _plan(self, state: JobState, p: BackfillParams) -> list[BackfillSlot]:
        if p.end < p.start:
            raise InvalidInput(
                f"--to {p.end.isoformat()} is before --from {p.start.isoformat()}",
                token=p.end.isoformat(),
                accepted=("--from T1 --to T2 with T1 <= T2",),
            )
        first = p.start - timedelta(microseconds=1)
        slots = slots_between(state.spec.schedule, first, p.end, MAX_BACKFILL_SLOTS + 1)
        if len(slots) > MAX_BACKFILL_SLOTS:
            raise InvalidInput(
                f"the range holds more than {MAX_BACKFILL_SLOTS} slots; backfill it in parts",
                token=p.end.isoformat(),
                accepted=(f"at most {MAX_BACKFILL_SLOTS} slots per backfill",),
            )
        plan = []
        for slot in slots:
            calendar = self.book.excluded(state.spec, slot)
            if calendar is not None:
                plan.append(BackfillSlot(slot=slot, status="excluded", calendar=calendar))
            elif await self.store.fire_claimed(state.id, slot):
                plan.append(BackfillSlot(slot=slot, status="claimed"))
            else:
                plan.append(BackfillSlot(slot=slot, status="pending"))
        return plan

    async def _fire_one(
        self, job_id: str, plan: list[BackfillSlot], index: int, limiter: trio.CapacityLimiter
    ) -> None:
        slot = plan[index].slot
        try:
            try:
                await self._fire(job_id, slot)
            except (Conflict, NotFound) as exc:
                plan[index] = BackfillSlot(slot=slot, status="refused", message=str(exc))
                return
            outcome = await self._ended(job_id, slot)
            plan[index] = BackfillSlot(slot=slot, status="fired", outcome=outcome)
        finally:
            limiter.release_on_behalf_of(index)

    async def _ended(self, job_id: str, slot: datetime) -> str | None:
        """Wait until the fire of ``slot`` is no longer in flight; its outcome, from the
        job's latest run for that slot (``None`` when it ran nothing, e.g. skipped)."""
        while True:
            state = await self._state(job_id)
            if state.status.terminal or all(f.fire_time != slot for f in state.fires):
                break
            await trio.sleep(POLL)
        runs = await self.store.runs(job_id, limit=100)
        for run in sorted(runs, key=lambda r: r.started_at, reverse=True):
            if run.fire_time == slot and run.outcome is not None:
                return str(run.outcome)
        return None
