"""``job.create``, ``job.create_many``, ``job.preview``, ``job.get``, ``job.list``,
``job.tree`` and ``job.logs``: admitting and reading jobs (docs/protocol.md).

Operating on jobs (cancel, pause, resume, run, clear) is methods/jobs_control.py.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from gnomon.actors.bulk import BulkCreate, answer
from gnomon.actors.core.paging import jobs_cursor, read_jobs_cursor, read_runs_cursor, runs_cursor
from gnomon.actors.methods.context import (
    Handler,
    MethodContext,
    created_by_of,
    created_where_held,
    owner_of,
    run_view,
    tag_filter,
)
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.firing import preview
from gnomon.runtime.model.state import JobState
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_bulk import CreateManyParams, CreateManyResult
from gnomon.runtime.protocol_jobs import (
    CreateParams,
    JobDetail,
    JobPage,
    JobView,
    ListParams,
    LogsParams,
    Preview,
    PreviewParams,
    RefParams,
    RunsPage,
    TransitionView,
    Tree,
    TreeNode,
)
from gnomon.runtime.store import JobQuery


@attrs.frozen
class JobMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {
            names.JOB_CREATE: self.create,
            names.JOB_CREATE_MANY: self.create_many,
            names.JOB_PREVIEW: self.preview,
            names.JOB_GET: self.get,
            names.JOB_LIST: self.list,
            names.JOB_TREE: self.tree,
            names.JOB_LOGS: self.logs,
        }

    async def create(self, caller: Caller, p: CreateParams) -> JobView:
        """Admit one job (``replace``: update the live job of that name in place).

        Raises:
            InvalidInput, Conflict, Refused: admission's verdict (docs/protocol.md).
            StoreUnavailable: the store cannot write (counted as an enqueue error).
        """
        ctx = self.ctx
        async with ctx.admit_job(caller, p) as expires_at:
            try:
                await ctx.prefetch((*p.spec.depends_on, *p.spec.triggers))
                owner = owner_of(caller)
                elsewhere = (
                    await ctx.replace_elsewhere(p.spec, owner, expires_at) if p.replace else None
                )
                state = elsewhere or await created_where_held(
                    lambda: ctx.tree.engine.create(
                        p.spec,
                        owner,
                        created_by_of(caller),
                        replace=p.replace,
                        expires_at=expires_at,
                    )
                )
                await ctx.settle_dependencies(state)
            except StoreUnavailable:  # a full disk: GnomonStoreErrors (docs/operations.md)
                ctx.tree.ports.metrics.enqueue_errors.labels("store").inc()
                raise
        return ctx.view(state)

    async def create_many(self, caller: Caller, p: CreateManyParams) -> CreateManyResult:
        """``job.create_many`` (actors/bulk.py): the token's limits held for the call.

        Raises:
            Refused: agents are off, or the rate limits refuse the batch.
        """
        ctx = self.ctx
        await ctx.prefetch(r for spec in p.specs for r in (*spec.depends_on, *spec.triggers))
        async with ctx.admit_jobs(caller) as limits:
            request = BulkCreate(
                specs=p.specs,
                owner=owner_of(caller),
                created_by=created_by_of(caller),
                mode=p.mode,
                atomic=p.atomic,
                dry_run=p.dry_run,
                limits=limits,
            )
            items = await ctx.tree.engine.create_many(request)
        now = ctx.clock.now()
        first = ctx.tree.engine.first_slot
        return answer(items, dry_run=p.dry_run, first_slot=lambda s: first(s.schedule, now))

    async def preview(self, caller: Caller, p: PreviewParams) -> Preview:
        """The spec's next ``count`` fires (nothing is stored)."""
        after = p.after or self.ctx.clock.now()
        return Preview(job=p.spec, next_fires=tuple(preview(p.spec.schedule, after, p.count)))

    async def get(self, caller: Caller, p: RefParams) -> JobDetail:
        """A job with its last 10 runs, its transitions and its next 5 fires.

        Raises:
            NotFound: no job by that reference, live or finished.
        """
        ctx = self.ctx
        state = await ctx.state(p.ref)
        runs = await ctx.store.runs(state.id, 10)
        transitions = tuple(
            TransitionView(
                at=t.at, from_status=t.from_status, to_status=t.to_status, reason=t.reason
            )
            for t in state.transitions
        )
        fires = (
            () if state.status.terminal else tuple(preview(state.spec.schedule, ctx.clock.now(), 5))
        )
        return JobDetail(
            job=ctx.view(state),
            runs=tuple(run_view(r) for r in runs),
            transitions=transitions,
            next_fires=fires,
        )

    async def list(self, caller: Caller, p: ListParams) -> JobPage:
        """One page of jobs (an agent sees its own unless it names an owner).

        Raises:
            InvalidInput: a cursor that is not one this method gave.
        """
        ctx = self.ctx
        query = JobQuery(
            statuses=frozenset(p.statuses),
            include_terminal=p.all,
            tags=tuple(tag_filter(t) for t in p.tags),
            owner=p.owner or (caller.owner if caller.agent else None),
            name=p.name,
            search=p.search,
            limit=p.limit + 1,
        )
        rows = await ctx.store.page_jobs(query, read_jobs_cursor(p.cursor))
        views = [ctx.view(state) for _, state in rows[: p.limit]]
        shown = ctx.fit(views)
        more = shown < len(rows)
        return JobPage(
            jobs=tuple(views[:shown]),
            next_cursor=jobs_cursor(rows[shown - 1][0]) if more else None,
            total=await ctx.store.count_jobs(query) if p.with_total else None,
        )

    async def tree(self, caller: Caller, _: Any) -> Tree:
        """The DAG and trigger lineage of every stored job, oldest first."""
        states = await self.ctx.store.list_jobs(JobQuery(include_terminal=True, limit=100_000))
        return lineage(states)

    async def logs(self, caller: Caller, p: LogsParams) -> RunsPage:
        """One page of runs, newest last; ``next_cursor`` goes back in time.

        Raises:
            NotFound: no job by that reference.
            InvalidInput: a cursor that is not one this method gave.
        """
        ctx = self.ctx
        state = await ctx.state(p.ref)
        before = read_runs_cursor(p.cursor)
        rows = await ctx.store.runs_page(state.id, p.limit + 1, cycle=p.cycle, before=before)
        views = [run_view(run) for _, run in rows[: p.limit]]  # newest first
        shown = ctx.fit(views)
        last = rows[shown - 1] if shown < len(rows) else None
        return RunsPage(
            runs=tuple(reversed(views[:shown])),
            next_cursor=None if last is None else runs_cursor(last[0], last[1].run_id),
        )


def lineage(states: list[JobState]) -> Tree:
    """``job.tree`` of ``states``: a trigger clone's parent is its template, a dependent's
    its last dependency; the rest are roots."""
    children: dict[str, list[str]] = {}
    parent: dict[str, tuple[str, Literal["depends_on", "trigger"]]] = {}
    for s in states:
        if s.parent_id:
            parent[s.id] = (s.parent_id, "trigger")
        elif s.dependencies:
            parent[s.id] = (s.dependencies[-1].id, "depends_on")
    for child, (up, _kind) in parent.items():
        children.setdefault(up, []).append(child)
    nodes = tuple(
        TreeNode(
            id=s.id,
            name=s.spec.name,
            status=s.status,
            parent=parent[s.id][0] if s.id in parent else None,
            children=tuple(children.get(s.id, ())),
            kind=parent[s.id][1] if s.id in parent else "root",
        )
        for s in sorted(states, key=lambda s: s.created_at)
    )
    return Tree(nodes=nodes)
