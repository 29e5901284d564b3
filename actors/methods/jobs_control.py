"""``job.cancel``, ``job.pause``, ``job.resume``, ``job.run`` and ``job.clear``:
operating on jobs through the engine (docs/protocol.md).

An agent operates on its own jobs only: naming another's is refused, a selection by tag
or status skips them.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from gnomon.actors.job.ports import Op
from gnomon.actors.methods.context import Handler, MethodContext, tag_filter
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import Conflict, InvalidInput, Refused
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_jobs import ClearParams, JobsResult, JobView, RefParams, SelectParams
from gnomon.runtime.store import JobQuery

TERMINAL = frozenset(s for s in JobStatus if s.terminal)


@attrs.frozen
class JobControlMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {
            names.JOB_CANCEL: self.cancel,
            names.JOB_PAUSE: self.pause,
            names.JOB_RESUME: self.resume,
            names.JOB_RUN: self.run_now,
            names.JOB_CLEAR: self.clear,
        }

    async def select(self, p: SelectParams) -> list[str]:
        """The ids ``p`` selects: its references, then the jobs of its tags and statuses.

        Raises:
            InvalidInput: nothing selects.
            NotFound: a reference names no job.
        """
        ids = [await self.ctx.resolve(r) for r in p.refs]
        if p.tags or p.statuses:
            query = JobQuery(
                statuses=frozenset(p.statuses), tags=tuple(tag_filter(t) for t in p.tags)
            )
            ids += [s.id for s in await self.ctx.store.list_jobs(query)]
        if not (p.refs or p.tags or p.statuses):
            raise InvalidInput(
                "select jobs by reference, --tag or --status",
                accepted=["REF…", "--tag k=v", "--status S"],
            )
        return list(dict.fromkeys(ids))

    def own(self, caller: Caller, ids: list[str], refs: tuple[str, ...]) -> list[str]:
        """``ids`` an agent may operate on: its own jobs.

        Raises:
            Refused: ``refs`` named another owner's job (reason ``owner``).
        """
        if not caller.agent:
            return ids
        mine = []
        for job_id in ids:
            owner = self.ctx.job_owner(job_id)
            if owner == caller.owner:
                mine.append(job_id)
            elif refs:
                owner = owner or "another owner"
                raise Refused(
                    f"job {self.ctx.name(job_id)} belongs to {owner}; an agent may operate on "
                    "its own jobs only",
                    reason="owner",
                )
        return mine

    async def _bulk(self, caller: Caller, p: SelectParams, op: Op) -> JobsResult:
        """``op`` on every selected job; an illegal transition is skipped unless it is the
        one job named.

        Raises:
            Conflict: the one named job cannot take ``op`` now.
        """
        ctx = self.ctx
        ids = self.own(caller, await self.select(p), p.refs)
        done: list[JobView] = []
        for job_id in ids:
            try:
                done.append(ctx.view(await ctx.command(job_id, op, reason=p.reason)))
            except Conflict:
                if len(ids) == 1 and p.refs:
                    raise
        return JobsResult(jobs=tuple(done[: ctx.fit(done)]), count=len(done))

    async def cancel(self, caller: Caller, p: SelectParams) -> JobsResult:
        """Cancel the selected jobs, killing their runs (see :meth:`_bulk`)."""
        return await self._bulk(caller, p, "cancel")

    async def pause(self, caller: Caller, p: SelectParams) -> JobsResult:
        """Pause the selected jobs (see :meth:`_bulk`)."""
        return await self._bulk(caller, p, "pause")

    async def resume(self, caller: Caller, p: SelectParams) -> JobsResult:
        """Resume the selected paused jobs (see :meth:`_bulk`)."""
        return await self._bulk(caller, p, "resume")

    async def run_now(self, caller: Caller, p: RefParams) -> JobView:
        """Fire the job now, outside its schedule.

        Raises:
            NotFound: no such live job. Refused: another owner's (agents).
            Conflict: it cannot fire in its status.
        """
        job_id = await self.ctx.resolve(p.ref)
        self.own(caller, [job_id], (p.ref,))
        return self.ctx.view(await self.ctx.command(job_id, "run_now"))

    async def clear(self, caller: Caller, p: ClearParams) -> JobsResult:
        """Finished jobs matching ``p``; with ``yes`` the engine deletes their records.

        Raises:
            InvalidInput: a status that is not terminal.
            StoreUnavailable: the store cannot write (nothing was deleted).
        """
        ctx = self.ctx
        statuses = frozenset(p.statuses) or TERMINAL
        if not statuses <= TERMINAL:
            raise InvalidInput(
                "jobs clear removes finished jobs only",
                token=str(p.statuses),
                accepted=sorted(s.value for s in TERMINAL),
            )
        owner = caller.owner if caller.agent else None
        query = JobQuery(statuses=statuses, name=p.name, owner=owner, limit=100_000)
        states = await ctx.store.list_jobs(query)
        if p.older_than is not None:
            cutoff = ctx.clock.now() - timedelta(seconds=p.older_than)
            states = [s for s in states if s.updated_at <= cutoff]
        if p.yes and states:
            await ctx.clear([s.id for s in states])
        views = [ctx.view(s) for s in states]
        return JobsResult(jobs=tuple(views[: ctx.fit(views)]), count=len(states))
