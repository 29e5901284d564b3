"""The protocol's methods, implemented over the engine: what the gateway calls.

Each handler takes the :class:`~gnomon.runtime.protocol.Caller` and the structured params
and returns a protocol type. Views follow CONTRACT §3.6 (``schedule``, ``action`` and
``wait`` as DSL text; ``reason`` is the one-line "why isn't it running?").
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import attrs

from gnomon.actors.bulk import BulkCreate, SpecLimits, answer, no_limits
from gnomon.actors.core.explain import explain, hold
from gnomon.actors.core.paging import (
    encoded_size,
    fitting,
    jobs_cursor,
    read_jobs_cursor,
    read_runs_cursor,
    reply_budget,
    runs_cursor,
)
from gnomon.actors.job.ports import Op
from gnomon.actors.policy import ShellPolicy
from gnomon.actors.tree import EngineTree
from gnomon.runtime.config import Config
from gnomon.runtime.errors import (
    Conflict,
    GnomonError,
    InvalidInput,
    NotFound,
    Refused,
    StoreUnavailable,
)
from gnomon.runtime.model.action_dsl import format_action
from gnomon.runtime.model.condition_dsl import format_condition
from gnomon.runtime.model.enums import JobStatus, OwnerKind
from gnomon.runtime.model.firing import preview
from gnomon.runtime.model.job import CreatedBy, Owner
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.when import format_when
from gnomon.runtime.protocol import (
    AckParams,
    BreakerInfo,
    BreakerParams,
    Caller,
    ClearParams,
    ConfigRow,
    Count,
    CreateParams,
    EventsParams,
    EventsResult,
    Health,
    InboxEntry,
    InboxParams,
    JobDetail,
    JobPage,
    JobsResult,
    JobView,
    ListParams,
    LogsParams,
    PolicyCheckParams,
    PolicyRule,
    PolicySetParams,
    PolicyVerdict,
    Preview,
    PreviewParams,
    RefParams,
    RunsPage,
    RunView,
    SelectParams,
    Stats,
    TransitionView,
    Tree,
    TreeNode,
)
from gnomon.runtime.protocol_bulk import CreateManyParams, CreateManyResult
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spec_mask import masked_spec
from gnomon.runtime.store import Changes, EventQuery, JobQuery
from gnomon.runtime.store.sqlite import SqliteStore

T = TypeVar("T")
Handler = Callable[[Caller, Any], Awaitable[Any]]
#: Token limits around a job's creation: yields its ``expires_at`` and stays open while
#: the engine creates it (actors/agents.py ``Agents.admitting``).
AdmitJob = Callable[[Caller, CreateParams], AbstractAsyncContextManager[datetime | None]]


#: The same around a bulk create: yields the check of one spec (``Agents.admitting_many``).
AdmitJobs = Callable[[Caller], AbstractAsyncContextManager[SpecLimits]]


@asynccontextmanager
async def _unlimited(caller: Caller, p: CreateParams) -> AsyncIterator[datetime | None]:
    """The default token-limit check: none (the job does not expire)."""
    yield None


@asynccontextmanager
async def _unlimited_many(caller: Caller) -> AsyncIterator[SpecLimits]:
    """The default token-limit check of a bulk create: none."""
    yield no_limits


def created_by_of(caller: Caller) -> CreatedBy:
    """The provenance a caller's new jobs record."""
    return CreatedBy(
        token_id=caller.token_id,
        scope=caller.scope,
        client=caller.client,
        client_version=caller.client_version,
        parent_job=caller.parent_job,
        parent_run=caller.parent_run,
    )


def owner_of(caller: Caller) -> Owner:
    kind, _, ident = caller.owner.partition(":")
    return Owner(kind=OwnerKind(kind), id=ident or "unknown")


def run_view(run: RunRecord) -> RunView:
    return RunView(
        run_id=run.run_id,
        job_id=run.job_id,
        cycle=run.cycle,
        attempt=run.attempt,
        fire_time=run.fire_time,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        exit_code=run.exit_code,
        output=run.output,
        error=run.error,
        fallback=run.fallback,
    )


@attrs.define
class Service:
    """See the module docstring."""

    tree: EngineTree
    store: SqliteStore
    config: Config
    policy: ShellPolicy
    started: float = attrs.field(factory=time.monotonic)
    connections: Callable[[], int] = lambda: 0
    published: Callable[[], int] = lambda: 0
    admit_job: AdmitJob = _unlimited  # token limits, before the engine (actors/agents.py)
    redactor: Redactor = attrs.field(factory=Redactor)  # the daemon's secrets, for views
    admit_jobs: AdmitJobs = _unlimited_many

    @property
    def clock(self) -> Any:
        return self.tree.ports.clock

    def handlers(self) -> dict[str, Handler]:
        """Method name → handler, for the gateway."""
        return {
            "system.health": self.health,
            "system.stats": self.stats,
            "job.create": self.create,
            "job.create_many": self.create_many,
            "job.preview": self.preview,
            "job.get": self.get,
            "job.list": self.list_jobs,
            "job.tree": self.job_tree,
            "job.logs": self.logs,
            "job.cancel": self.cancel,
            "job.pause": self.pause,
            "job.resume": self.resume,
            "job.run": self.run_now,
            "job.clear": self.clear,
            "events.list": self.events,
            "breaker.list": self.breakers,
            "breaker.reset": self.breaker_reset,
            "policy.list": self.policy_list,
            "policy.set": self.policy_set,
            "policy.check": self.policy_check,
            "config.get": self.config_get,
            "inbox.list": self.inbox_list,
            "inbox.ack": self.inbox_ack,
        }

    # -- views --------------------------------------------------------------------------

    def _name(self, job_id: str) -> str:
        entry = self.tree.directory.get(job_id)
        return job_id if entry is None else entry.name

    def view(self, state: JobState) -> JobView:
        """The job as clients see it: every spec it shows is masked (runtime/spec_mask.py)."""
        breaker_key = self.tree.ports.action_key(state.spec, state.spec.action)
        spec = masked_spec(state.spec, self.redactor)
        now = self.clock.now()
        opened = {k: t or now for k, t in self.tree.breakers.reopen_times().items()}
        return JobView(
            id=state.id,
            name=state.spec.name,
            status=state.status,
            owner=str(state.owner),
            created_by=state.created_by,
            tags=dict(state.spec.tags),
            description=state.spec.description,
            schedule=format_when(state.spec.schedule),
            action=format_action(spec.action),
            wait=None if spec.wait is None else format_condition(spec.wait.condition),
            depends_on=tuple(d.name for d in state.dependencies),
            triggers=tuple(self._name(t) for t in state.trigger_ids),
            next_fire_at=state.next_fire_at,
            last_outcome=state.last_outcome,
            attempts=state.attempts,
            cycle=state.cycle,
            message=state.message,
            reason=explain(
                state, self.clock.now(), open_breakers=opened, breaker_key=breaker_key
            ).text,
            created_at=state.created_at,
            updated_at=state.updated_at,
            finished_at=state.finished_at,
            parent_id=state.parent_id,
            expires_at=state.expires_at,
            spec=spec,
            hold=hold(state),
        )

    async def _state(self, ref: str) -> JobState:
        """A live job by id, prefix or name; else a finished one by id or name (the most
        recently updated of that name).

        Raises:
            NotFound: neither.
        """
        try:
            return await self.tree.engine.get(ref)
        except NotFound:
            state = await self.store.get_job(ref)
            if state is None:
                query = JobQuery(include_terminal=True, name=ref)
                named = [s for s in await self.store.list_jobs(query) if s.spec.name == ref]
                state = max(named, key=lambda s: s.updated_at) if named else None
            if state is None:
                raise
            return state

    # -- system -------------------------------------------------------------------------

    async def health(self, caller: Caller, _: Any) -> Health:
        """A real write through the store's writer (or its standing fault: a full disk,
        corruption met at run time) and the engine's supervisor."""
        store_problem = await self.store.problem()
        healthy = self.tree.core.running
        problem = store_problem or (None if healthy else "the engine's supervisor stopped")
        try:
            lag = await self._last_fire_lag()
        except GnomonError:  # a corrupt page under the last events: the reason says it
            lag = None
        return Health(
            ok=problem is None,
            store_writable=store_problem is None,
            tree_healthy=healthy,
            last_fire_lag=lag,
            uptime=time.monotonic() - self.started,
            reason=problem,
        )

    async def _last_fire_lag(self) -> float | None:
        """``payload.lag`` of the newest ``job.fired`` among the last 1000 events."""
        last = await self.store.last_seq()
        query = EventQuery(since_seq=max(0, last - 1000), limit=1000, types=("job.fired",))
        fired = await self.store.events(query)
        lag = fired[-1].payload.get("lag") if fired else None
        return None if lag is None else float(lag)

    async def job_counts(self) -> dict[str, int]:
        """Jobs per status as stored — finished ones from before a restart too, as the
        dashboard counts them (the directory indexes only what this boot saw end)."""
        return {s.value: n for s, n in sorted((await self.store.status_counts()).items()) if n}

    async def stats(self, caller: Caller, _: Any) -> Stats:
        counts = await self.job_counts()
        return Stats(
            jobs=counts,
            events=await self.store.last_seq(),
            connections=self.connections(),
            uptime=time.monotonic() - self.started,
            breakers_open=len(self.tree.breakers.open_until()),
        )

    # -- jobs ---------------------------------------------------------------------------

    async def create(self, caller: Caller, p: CreateParams) -> JobView:
        async with self.admit_job(caller, p) as expires_at:
            try:
                state = await self.tree.engine.create(
                    p.spec,
                    owner_of(caller),
                    created_by_of(caller),
                    replace=p.replace,
                    expires_at=expires_at,
                )
            except StoreUnavailable:  # a full disk: GnomonStoreErrors (docs/operations.md)
                self.tree.ports.metrics.enqueue_errors.labels("store").inc()
                raise
        return self.view(state)

    async def create_many(self, caller: Caller, p: CreateManyParams) -> CreateManyResult:
        """``job.create_many`` (actors/bulk.py): the token's limits held for the call."""
        async with self.admit_jobs(caller) as limits:
            request = BulkCreate(
                specs=p.specs,
                owner=owner_of(caller),
                created_by=created_by_of(caller),
                mode=p.mode,
                atomic=p.atomic,
                dry_run=p.dry_run,
                limits=limits,
            )
            items = await self.tree.engine.create_many(request)
        now = self.clock.now()
        first = self.tree.engine.first_slot
        return answer(items, dry_run=p.dry_run, first_slot=lambda s: first(s.schedule, now))

    async def preview(self, caller: Caller, p: PreviewParams) -> Preview:
        return Preview(
            job=p.spec,
            next_fires=tuple(preview(p.spec.schedule, p.after or self.clock.now(), p.count)),
        )

    async def get(self, caller: Caller, p: RefParams) -> JobDetail:
        state = await self._state(p.ref)
        runs = await self.store.runs(state.id, 10)
        transitions = tuple(
            TransitionView(
                at=t.at, from_status=t.from_status, to_status=t.to_status, reason=t.reason
            )
            for t in state.transitions
        )
        fires = (
            ()
            if state.status.terminal
            else tuple(preview(state.spec.schedule, self.clock.now(), 5))
        )
        return JobDetail(
            job=self.view(state),
            runs=tuple(run_view(r) for r in runs),
            transitions=transitions,
            next_fires=fires,
        )

    @property
    def _budget(self) -> int:
        return reply_budget(self.config["gateway.max_message_bytes"])

    def _fit(self, items: Sequence[T]) -> int:
        """How many leading ``items`` fit in one reply (at least one, if any)."""
        return fitting((encoded_size(i) for i in items), self._budget)

    async def list_jobs(self, caller: Caller, p: ListParams) -> JobPage:
        query = JobQuery(
            statuses=frozenset(p.statuses),
            include_terminal=p.all,
            tags=tuple(_tag(t) for t in p.tags),
            owner=p.owner or (caller.owner if caller.agent else None),
            name=p.name,
            limit=p.limit + 1,
        )
        rows = await self.store.page_jobs(query, read_jobs_cursor(p.cursor))
        views = [self.view(state) for _, state in rows[: p.limit]]
        shown = self._fit(views)
        more = shown < len(rows)
        return JobPage(
            jobs=tuple(views[:shown]), next_cursor=jobs_cursor(rows[shown - 1][0]) if more else None
        )

    async def job_tree(self, caller: Caller, _: Any) -> Tree:
        states = await self.store.list_jobs(JobQuery(include_terminal=True, limit=100_000))
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

    async def logs(self, caller: Caller, p: LogsParams) -> RunsPage:
        state = await self._state(p.ref)
        before = read_runs_cursor(p.cursor)
        rows = await self.store.runs_page(state.id, p.limit + 1, cycle=p.cycle, before=before)
        views = [run_view(run) for _, run in rows[: p.limit]]  # newest first
        shown = self._fit(views)
        last = rows[shown - 1] if shown < len(rows) else None
        return RunsPage(
            runs=tuple(reversed(views[:shown])),
            next_cursor=None if last is None else runs_cursor(last[0], last[1].run_id),
        )

    async def _select(self, p: SelectParams) -> list[str]:
        ids = [self.tree.directory.resolve(r) for r in p.refs]
        if p.tags or p.statuses:
            query = JobQuery(statuses=frozenset(p.statuses), tags=tuple(_tag(t) for t in p.tags))
            ids += [s.id for s in await self.store.list_jobs(query)]
        if not (p.refs or p.tags or p.statuses):
            raise InvalidInput(
                "select jobs by reference, --tag or --status",
                accepted=["REF…", "--tag k=v", "--status S"],
            )
        return list(dict.fromkeys(ids))

    def _own(self, caller: Caller, ids: list[str], refs: tuple[str, ...]) -> list[str]:
        """``ids`` an agent may operate on: its own jobs (a named other's is refused)."""
        if not caller.agent:
            return ids
        mine = []
        for job_id in ids:
            entry = self.tree.directory.get(job_id)
            if entry is not None and entry.owner == caller.owner:
                mine.append(job_id)
            elif refs:
                owner = entry.owner if entry is not None else "another owner"
                raise Refused(
                    f"job {self._name(job_id)} belongs to {owner}; an agent may operate on "
                    "its own jobs only",
                    reason="owner",
                )
        return mine

    async def _bulk(self, caller: Caller, p: SelectParams, op: Op) -> JobsResult:
        ids = self._own(caller, await self._select(p), p.refs)
        done: list[JobView] = []
        for job_id in ids:
            try:
                done.append(self.view(await self.tree.engine.command(job_id, op, reason=p.reason)))
            except Conflict:
                if len(ids) == 1 and p.refs:
                    raise
        return JobsResult(jobs=tuple(done[: self._fit(done)]), count=len(done))

    async def cancel(self, caller: Caller, p: SelectParams) -> JobsResult:
        return await self._bulk(caller, p, "cancel")

    async def pause(self, caller: Caller, p: SelectParams) -> JobsResult:
        return await self._bulk(caller, p, "pause")

    async def resume(self, caller: Caller, p: SelectParams) -> JobsResult:
        return await self._bulk(caller, p, "resume")

    async def run_now(self, caller: Caller, p: RefParams) -> JobView:
        self._own(caller, [self.tree.directory.resolve(p.ref)], (p.ref,))
        return self.view(await self.tree.engine.command(p.ref, "run_now"))

    async def clear(self, caller: Caller, p: ClearParams) -> JobsResult:
        terminal = frozenset(s for s in JobStatus if s.terminal)
        statuses = frozenset(p.statuses) or terminal
        if not statuses <= terminal:
            raise InvalidInput(
                "jobs clear removes finished jobs only",
                token=str(p.statuses),
                accepted=sorted(s.value for s in terminal),
            )
        owner = caller.owner if caller.agent else None
        query = JobQuery(statuses=statuses, name=p.name, owner=owner, limit=100_000)
        states = await self.store.list_jobs(query)
        if p.older_than is not None:
            cutoff = self.clock.now() - timedelta(seconds=p.older_than)
            states = [s for s in states if s.updated_at <= cutoff]
        if p.yes and states:
            await self.store.commit(Changes(deleted_jobs=tuple(s.id for s in states)))
            for s in states:
                self.tree.directory.forget(s.id)
        views = [self.view(s) for s in states]
        return JobsResult(jobs=tuple(views[: self._fit(views)]), count=len(states))

    # -- events, breakers, policy, config, inbox -----------------------------------------

    async def events(self, caller: Caller, p: EventsParams) -> EventsResult:
        job = self.tree.directory.resolve(p.job) if p.job else None
        found = await self.store.events(
            EventQuery(
                since_seq=p.since_seq,
                limit=p.limit + 1,
                job_id=job,
                types=p.types,
                since=p.since,
                until=p.until,
                until_seq=p.until_seq,
                newest=p.newest,
            )
        )
        last_seq = await self.store.last_seq()
        if p.newest:  # the newest ``limit`` (the store gave one older to tell ``more``)
            newest = found[-p.limit :] if p.limit else []
            shown = self._fit(newest[::-1])
            kept = newest[len(newest) - shown :]
            more = len(found) > len(kept)
            return EventsResult(events=tuple(kept), last_seq=last_seq, more=more)
        shown = self._fit(found[: p.limit])
        return EventsResult(events=tuple(found[:shown]), last_seq=last_seq, more=shown < len(found))

    async def breakers(self, caller: Caller, _: Any) -> tuple[BreakerInfo, ...]:
        return tuple(
            BreakerInfo(
                key=v.key,
                status=v.status.value,
                recent_failures=v.recent_failures,
                reopens_at=v.reopens_at,
            )
            for v in await self.tree.breakers.list()
        )

    async def breaker_reset(self, caller: Caller, p: BreakerParams) -> BreakerInfo:
        v = await self.tree.breakers.reset(p.key)
        return BreakerInfo(
            key=v.key,
            status=v.status.value,
            recent_failures=v.recent_failures,
            reopens_at=v.reopens_at,
        )

    async def policy_list(self, caller: Caller, _: Any) -> tuple[PolicyRule, ...]:
        rules = self.policy.listing()
        out = [PolicyRule(kind="deny", pattern=p) for p in rules.deny]
        out += [PolicyRule(kind="allow", pattern=p) for p in rules.allow]
        return tuple(out)

    async def policy_set(self, caller: Caller, p: PolicySetParams) -> tuple[PolicyRule, ...]:
        {"allow": self.policy.allow, "deny": self.policy.deny, "remove": self.policy.remove}[
            p.action
        ](p.pattern)
        return await self.policy_list(caller, None)

    async def policy_check(self, caller: Caller, p: PolicyCheckParams) -> PolicyVerdict:
        c = self.policy.classify(p.command)
        deciding = c.deciding
        why = deciding.why if deciding is not None else ""
        if deciding is not None and deciding.rule:
            why = f"{why} (rule {deciding.rule!r})".strip()
        return PolicyVerdict(
            command=p.command,
            decision=c.decision.value,
            reason=why,
        )

    async def config_get(self, caller: Caller, _: Any) -> tuple[ConfigRow, ...]:
        return tuple(
            ConfigRow(key=s.key.name, value=s.shown(), source=s.source, doc=s.key.doc)
            for s in self.config.rows()
        )

    async def inbox_list(self, caller: Caller, p: InboxParams) -> tuple[InboxEntry, ...]:
        rows = await self.store.inbox(caller.owner, unread_only=p.unread_only)
        return tuple(
            InboxEntry(
                id=i, job_id=item.job_id, created_at=item.created_at, read=read, item=item.item
            )
            for i, item, read in rows
        )

    async def inbox_ack(self, caller: Caller, p: AckParams) -> Count:
        return Count(count=await self.store.ack_inbox(caller.owner, p.ids, self.clock.now()))


def _tag(text: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    return key, (value if sep else None)
