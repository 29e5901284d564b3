"""What every method family shares: the engine, the store, config, and the job view.

Views follow docs/protocol.md (``schedule``, ``action`` and ``wait`` as DSL text;
``reason`` is the one-line "why isn't it running?"; specs masked by
runtime/spec_mask.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import trio

from gnomon.actors.bulk import SpecLimits, no_limits
from gnomon.actors.core.breaker.keys import job_action_key
from gnomon.actors.core.explain import explain, hold
from gnomon.actors.core.paging import encoded_size, fitting, reply_budget
from gnomon.actors.job.ports import JobCommand, Op
from gnomon.actors.remote import RemoteJobs
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.actors.tree import EngineTree
from gnomon.runtime.clock import Clock
from gnomon.runtime.config import Config
from gnomon.runtime.errors import GnomonError, InvalidInput, NotFound
from gnomon.runtime.fire_window import FireWindow
from gnomon.runtime.model import wire
from gnomon.runtime.model.action_dsl import format_action
from gnomon.runtime.model.condition_dsl import format_condition
from gnomon.runtime.model.enums import TERMINAL_STATUSES, OwnerKind
from gnomon.runtime.model.job import CreatedBy, JobSpec, Owner
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.when import format_when
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_jobs import CreateParams, JobView, RunView
from gnomon.runtime.protocol_system import ClusterNodes
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spec_mask import masked_spec
from gnomon.runtime.store import JobQuery, PartitionMoved, Store

if TYPE_CHECKING:
    from gnomon.actors.agents import Agents

T = TypeVar("T")
TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)
Handler = Callable[[Caller, Any], Awaitable[Any]]
#: Token limits around a job's creation: yields its ``expires_at`` and stays open while
#: the engine creates it (actors/agents.py ``Agents.admitting``).
AdmitJob = Callable[[Caller, CreateParams], AbstractAsyncContextManager[datetime | None]]
#: The same around a bulk create: yields the check of one spec (``Agents.admitting_many``).
AdmitJobs = Callable[[Caller], AbstractAsyncContextManager[SpecLimits]]
#: Tries of a create whose fresh id's partition is not held (any more) at its commit.
MOVED_TRIES = 8
#: The pause before the second try (doubling up to :data:`MOVED_PAUSE_MAX`), in seconds.
MOVED_PAUSE, MOVED_PAUSE_MAX = 0.05, 1.0


async def created_where_held(create: Callable[[], Awaitable[JobState]]) -> JobState:
    """``create()``, tried again (at most :data:`MOVED_TRIES` times in all, a short
    growing pause between tries) while the cluster's fence refuses it because the
    partition of the fresh id it drew is not this node's: the partition moved to another
    node between the draw and the commit, or the node, just joined, holds none yet
    (docs/cluster.md). Each try draws a new id in a partition held then. Cancellable
    between tries.

    Raises:
        PartitionMoved: still refused at the last try (or fenced: no partition named).
        Whatever ``create`` raises otherwise.
    """
    pause = MOVED_PAUSE
    for _ in range(MOVED_TRIES - 1):
        try:
            return await create()
        except PartitionMoved as exc:
            if not exc.partitions:
                raise
        await trio.sleep(pause)
        pause = min(pause * 2, MOVED_PAUSE_MAX)
    return await create()


@asynccontextmanager
async def unlimited(caller: Caller, p: CreateParams) -> AsyncIterator[datetime | None]:
    """The default token-limit check: none (the job does not expire)."""
    yield None


@asynccontextmanager
async def unlimited_many(caller: Caller) -> AsyncIterator[SpecLimits]:
    """The default token-limit check of a bulk create: none."""
    yield no_limits


def never_fenced() -> bool:
    """The default cluster fence state: a daemon that is not clustered is never fenced."""
    return False


async def alone() -> ClusterNodes:
    """The default ``cluster.nodes`` answer: a daemon that is not clustered."""
    return ClusterNodes(clustered=False)


@attrs.define
class MethodContext:
    """The daemon's parts the methods work on (built once by the composition root)."""

    tree: EngineTree
    store: Store
    config: Config
    policy: ShellPolicy
    redactor: Redactor = attrs.field(factory=Redactor)  # the daemon's secrets, for views
    started: float = attrs.field(factory=time.monotonic)
    connections: Callable[[], int] = lambda: 0
    admit_job: AdmitJob = unlimited  # token limits, before the engine (actors/agents.py)
    admit_jobs: AdmitJobs = unlimited_many
    agents: Agents | None = None  # token.* and agents.* (absent: those methods are not served)
    fire_window: FireWindow = attrs.field(factory=FireWindow)  # stats.fires (the bus feeds it)
    cluster_nodes: Callable[[], Awaitable[ClusterNodes]] = alone  # cluster.nodes
    cluster_fenced: Callable[[], bool] = never_fenced  # the node fenced itself (health)

    @property
    def remote(self) -> RemoteJobs | None:
        """In a cluster, the other nodes' jobs (actors/remote.py); else ``None``."""
        return self.tree.remote

    @property
    def clock(self) -> Clock:
        return self.tree.ports.clock

    def name(self, job_id: str) -> str:
        """The job's name as the directory knows it (its id when it does not)."""
        entry = self.tree.directory.get(job_id)
        return job_id if entry is None else entry.name

    def view(self, state: JobState) -> JobView:
        """The job as clients see it: every spec it shows is masked."""
        model = self.tree.config.llm_model
        breaker_key = job_action_key(state.spec, state.spec.action, default_model=model)
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
            triggers=tuple(self.name(t) for t in state.trigger_ids),
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

    async def state(self, ref: str) -> JobState:
        """A live job by id, prefix or name; else a finished one by id or name (the most
        recently updated of that name).

        Raises:
            NotFound: neither.
        """
        try:
            job_id = await self.resolve(ref)
        except NotFound:
            job_id = ref
        try:
            return await self.tree.engine.get(job_id)
        except NotFound:
            state = await self.store.get_job(job_id)
            if state is None:
                query = JobQuery(include_terminal=True, name=ref)
                named = [s for s in await self.store.list_jobs(query) if s.spec.name == ref]
                state = max(named, key=lambda s: s.updated_at) if named else None
            if state is None:
                raise
            return state

    async def resolve(self, ref: str) -> str:
        """The id of the job ``ref`` names: this node's directory first; in a cluster, the
        shared database when the directory knows no job, only a finished one by that name
        (a live one elsewhere wins, as on one node), or matched an id prefix (which may
        prefix other nodes' ids too: ambiguous, as on one node).

        Raises:
            NotFound: no job by that reference. InvalidInput: an ambiguous prefix.
        """
        directory = self.tree.directory
        try:
            job_id = directory.resolve(ref)
        except NotFound:
            if self.remote is None:
                raise
            return (await self.remote.find(ref)).id
        entry = directory.get(job_id)
        if self.remote is None or entry is None or job_id == ref:
            return job_id
        if entry.name != ref or entry.status.terminal:  # a prefix: ambiguous elsewhere? a
            return (await self.remote.find(ref)).id  # finished job here: a live one elsewhere?
        return job_id

    async def prefetch(self, refs: Iterable[str]) -> None:
        """In a cluster: look up in the database the references (``depends_on``,
        ``triggers``) this node's directory cannot resolve, so that admission finds other
        nodes' jobs (``Admission.resolve_elsewhere``). Unknown ones are left to admission
        to refuse."""
        if self.remote is None:
            return
        for ref in dict.fromkeys(refs):
            try:
                self.tree.directory.resolve(ref)
            except NotFound:
                with contextlib.suppress(NotFound, InvalidInput):
                    await self.remote.find(ref)
            except InvalidInput:
                continue

    async def settle_dependencies(self, state: JobState) -> None:
        """In a cluster, after creating ``state``: tell it of the dependencies on other
        nodes that ended meanwhile (between their lookup and its commit their node may not
        have seen it yet; a repeated end changes nothing). Failures are left to the news
        the dependency's node sends."""
        if self.remote is None or not state.dependencies:
            return
        for dep in state.dependencies:
            if self.tree.directory.get(dep.id) is not None:
                continue
            ended = await self.store.get_job(dep.id)
            if ended is None or not ended.status.terminal or ended.status is dep.status:
                continue
            with contextlib.suppress(GnomonError):
                await self.tree.directory.ask(
                    state.id,
                    lambda d=dep.id, s=ended.status: JobCommand(  # type: ignore[misc]
                        op="dependency_ended", dep_id=d, dep_status=s
                    ),
                )

    def job_owner(self, job_id: str) -> str | None:
        """The job's owner (``user:alice``) as this node knows it."""
        entry = self.tree.directory.get(job_id)
        if entry is not None:
            return entry.owner
        return None if self.remote is None else self.remote.known_owner(job_id)

    async def command(self, job_id: str, op: Op, reason: str = "") -> JobState:
        """Apply ``op`` to a job: through this node's engine, or — in a cluster, for a job
        of a partition another node holds — through that node (actors/remote.py).

        Raises:
            NotFound, Conflict: as the engine (of whichever node) says.
            AskTimeout: the owner node did not answer in time.
        """
        remote = self.remote
        if remote is None or self.tree.directory.get(job_id) is not None or remote.here(job_id):
            return await self.tree.engine.command(job_id, op, reason=reason)
        return await self.elsewhere(remote, job_id, op, {"reason": reason})

    async def clear(self, job_ids: Sequence[str]) -> None:
        """Delete finished jobs' records (``job.clear``): this node's through its engine,
        in a cluster the other nodes' through them.

        Raises:
            StoreUnavailable: the store cannot write. GnomonError: an owner's refusal.
        """
        remote = self.remote
        if remote is None:
            return await self.tree.engine.clear(job_ids)
        directory = self.tree.directory
        here = {j for j in job_ids if directory.get(j) is not None or remote.here(j)}
        await self.tree.engine.clear([j for j in job_ids if j in here])
        if others := [j for j in job_ids if j not in here]:
            await remote.clear(others)
        return None

    async def elsewhere(
        self, remote: RemoteJobs, job_id: str, command: str, params: dict[str, Any]
    ) -> JobState:
        """``command`` applied by the node owning ``job_id``; the job as stored after it.

        Raises:
            NotFound, Conflict, …: the owner's refusal. AskTimeout: no answer in time.
        """
        await remote.command(job_id, command, params)
        state = await self.store.get_job(job_id)
        if state is None:
            raise NotFound(f"no job {job_id!r}")
        return state

    async def replace_elsewhere(
        self, spec: JobSpec, owner: Owner, expires_at: datetime | None
    ) -> JobState | None:
        """``--replace`` of the live job named ``spec.name`` when another node owns it
        (a cluster): that node replaces it; ``None`` when no other node owns one.

        Raises:
            Conflict: another owner's job, or the owner node refused (as on one node).
        """
        remote = self.remote
        if remote is None or self.tree.directory.live_name(spec.name) is not None:
            return None
        try:
            found = await remote.find(spec.name)
        except NotFound:
            return None
        if found.name != spec.name or found.status in TERMINAL or remote.here(found.id):
            return None
        params = {
            "spec": wire.to_json(spec),
            "owner": str(owner),
            "expires_at": None if expires_at is None else expires_at.isoformat(),
        }
        return await self.elsewhere(remote, found.id, "replace", params)

    def fit(self, items: Sequence[T]) -> int:
        """How many leading ``items`` fit in one reply (at least one, if any)."""
        budget = reply_budget(self.config["gateway.max_message_bytes"])
        return fitting((encoded_size(i) for i in items), budget)


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
    """The owner a caller's new jobs get (``user:alice`` → kind user, id alice)."""
    kind, _, ident = caller.owner.partition(":")
    return Owner(kind=OwnerKind(kind), id=ident or "unknown")


def run_view(run: RunRecord) -> RunView:
    """A run as clients see it."""
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


def tag_filter(text: str) -> tuple[str, str | None]:
    """``k=v`` → ``(k, v)``; a bare ``k`` → ``(k, None)`` (any value)."""
    key, sep, value = text.partition("=")
    return key, (value if sep else None)
