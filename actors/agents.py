"""Tokens and the agents kill switch behind ``token.*`` and ``agents.*``
(docs/commands.md, docs/agents.md; the methods themselves: actors/methods/tokens.py).

The tokens themselves are :class:`~gnomon.actors.token_book.TokenBook`'s.
:class:`AgentSwitch` is ``agents.enabled``: off pauses every live agent-owned job (with
:data:`KILL_REASON`) and makes :meth:`Agents.gate` refuse agent calls — sessions and job
credentials of agent tokens included; on resumes exactly the jobs the switch paused.
:meth:`Agents.admitting` checks a new job against its token's limits, atomically per
owner; :meth:`Agents.admitting_many` does the same for a bulk create's specs. The config
key sets the switch at start; ``gnomon agents on|off`` stores it and wins over the config
until changed again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import attrs
import trio

from gnomon.actors.admission import Admission
from gnomon.actors.bulk import SpecLimits, no_limits
from gnomon.actors.core import agent_limits
from gnomon.actors.token_book import TokenBook
from gnomon.actors.tree import EngineTree
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import (
    Conflict,
    GnomonError,
    InvalidInput,
    NotFound,
    Refused,
    Unauthorized,
)
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.state import JobState
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_jobs import CreateParams
from gnomon.runtime.store import JobQuery, Store

log = logging.getLogger(__name__)
#: Apply a command to a job wherever it lives (``MethodContext.command``).
Command = Callable[[str, Any, str], Awaitable[Any]]
KILL_REASON = "agents switched off (gnomon agents on resumes it)"
AGENTS_OFF = "agents are switched off on this daemon (agents.enabled = false)"
AGENT_METHODS_BARRED = frozenset({names.SYSTEM_LOGIN_URL})


class AgentSwitch:
    """``agents.enabled``: mirrored into admission, applied to agent-owned jobs."""

    def __init__(self, tree: EngineTree, store: Store, *, configured: bool) -> None:
        self.tree = tree
        self._store = store
        stored = store.switch_now("agents.enabled")
        self.enabled = configured if stored is None else stored == "true"
        self._mirror()
        self.version = 0  # moves with every change made through this node (see TokenBook)

    @property
    def _admission(self) -> Admission:
        return self.tree.engine.admission

    def _mirror(self) -> None:
        self._admission.set_agents_enabled(self.enabled)

    def _agent_entries(self) -> list[str]:
        return [
            e.id
            for e in self.tree.directory.entries()
            if e.owner.startswith("agent:") and not e.status.terminal
        ]

    async def apply(self) -> int:
        """Bring agent jobs in line with the switch; how many changed."""
        if not self.enabled:
            return await self.pause_all()
        return await self._resume_ours()

    async def pause_all(self, *, everywhere: Command | None = None) -> int:
        """Pause this node's live agent jobs; with ``everywhere`` (the methods' command,
        which sends a job another node of a cluster owns to that node), every live agent
        job the store lists. How many changed."""
        ids = self._agent_entries()
        if everywhere is not None:
            live = await self._store.list_jobs(JobQuery(limit=100_000))
            ids = [
                s.id
                for s in live
                if s.owner.kind.value == "agent" and s.status is not JobStatus.PAUSED
            ]
        changed = 0
        for job_id in ids:
            entry = self.tree.directory.get(job_id)
            if entry is not None and entry.status is JobStatus.PAUSED:
                continue
            changed += await self._command(job_id, "pause", KILL_REASON, everywhere)
        return changed

    async def _resume_ours(self, *, here_only: bool = False) -> int:
        query = JobQuery(statuses=frozenset({JobStatus.PAUSED}), limit=100_000)
        paused = [
            s.id
            for s in await self._store.list_jobs(query)
            if s.owner.kind.value == "agent" and s.message == KILL_REASON
        ]
        if here_only:
            paused = [j for j in paused if self.tree.directory.get(j) is not None]
        return sum([await self._command(job_id, "resume", "") for job_id in paused])

    async def _command(
        self, job_id: str, op: Any, reason: str, through: Command | None = None
    ) -> int:
        try:
            if through is None:
                await self.tree.engine.command(job_id, op, reason=reason)
            else:
                await through(job_id, op, reason)
        except (Conflict, NotFound):
            return 0
        except GnomonError as exc:  # another node did not take it in time
            log.warning("agents: %s of job %s failed: %s", op, job_id, exc.message)
            return 0
        return 1

    async def set(self, enabled: bool) -> int:
        self.enabled = enabled
        self._mirror()
        await self._store.set_switch("agents.enabled", "true" if enabled else "false")
        self.version += 1
        return await self.apply()

    async def adopt(self, stored: str | None) -> int:
        """The switch as another node of a cluster stored it (``None``: never set, the
        config's value stands): brings this node's own agent jobs in line — off pauses
        them, on resumes those the switch paused (the node that switched does the same
        for its own). How many jobs changed."""
        if stored is None or (stored == "true") == self.enabled:
            return 0
        self.enabled = stored == "true"
        self._mirror()
        if not self.enabled:
            return await self.pause_all()
        return await self._resume_ours(here_only=True)

    def agent_jobs(self) -> int:
        return len(self._agent_entries())


@attrs.define
class Agents:
    """The token book, the kill switch, token limits at admission and the per-call gate
    (their protocol methods: actors/methods/tokens.py)."""

    book: TokenBook
    switch: AgentSwitch
    now: Callable[[], datetime]
    _locks: dict[str, trio.Lock] = attrs.field(factory=dict, init=False)  # per owner

    def gate(self, caller: Caller, method: str) -> None:
        """Refuse a call from a revoked token, or from an agent while agents are off.

        Raises:
            Unauthorized: the token (or the parent token of a session or job credential)
                was revoked since the connection opened.
            Refused: agents are switched off (reason ``agents_disabled``).
        """
        if not self.book.active(caller.token_id):
            if caller.via == "token":
                raise Unauthorized("unauthorized: this token was revoked")
            raise Unauthorized(
                f"unauthorized: the token this {caller.via} credential came from "
                f"({caller.token_id}) was revoked"
            )
        if caller.agent and not self.switch.enabled:
            raise Refused(
                AGENTS_OFF, reason="agents_disabled", hint="an operator can run: gnomon agents on"
            )
        if caller.agent and method in AGENT_METHODS_BARRED:
            raise Unauthorized(f"unauthorized: {method} is not open to agent tokens")

    @asynccontextmanager
    async def admitting(self, caller: Caller, p: CreateParams) -> AsyncIterator[datetime | None]:
        """Check a new job against its token's limits and hold its owner's admission open
        while the block creates it; yields the job's ``expires_at``.

        A token with ``max_jobs`` admits its owner's jobs one at a time: the live count is
        read and the job created under the owner's lock, so concurrent creates (a batch,
        several connections) never all pass on the same count. The lock is released when
        the block ends, however it ends (cancellation included).

        Raises:
            Refused: a limit is broken (see :meth:`admit_job`).
        """
        record = self.book.get(caller.token_id)
        if record is None or record.limits.max_jobs is None:
            yield await self.admit_job(caller, p)
            return
        lock = self._locks.setdefault(caller.owner, trio.Lock())
        async with lock:
            yield await self.admit_job(caller, p)

    async def admit_job(self, caller: Caller, p: CreateParams) -> datetime | None:
        """Check a new job against its token's limits (before admission and the engine);
        its ``expires_at``. Callers creating the job use :meth:`admitting`.

        Raises:
            Refused: a limit is broken (``reason`` names it; counted in
                ``gnomon_enqueue_errors_total`` as ``quota`` or ``action_disallowed``).
        """
        record = self.book.get(caller.token_id)
        if record is None:
            return None
        replacing = p.replace and self.switch.tree.directory.live_name(p.spec.name) is not None
        return await self._limits(record, p.spec, replacing, self._live_jobs(caller))

    @asynccontextmanager
    async def admitting_many(self, caller: Caller) -> AsyncIterator[SpecLimits]:
        """Token limits for a bulk create (``job.create_many``): yields the check of one
        spec and holds the owner's admission, as :meth:`admitting` does, until the block
        ends — the owner's live jobs are counted once, and each new job the engine admits
        in the batch counts for the specs after it, so ``max_jobs`` holds for the whole
        call atomically. The lock is released however the block ends.
        """
        record = self.book.get(caller.token_id)
        if record is None:
            yield no_limits
            return
        if record.limits.max_jobs is None:
            yield self._spec_limits(caller, record)
            return
        async with self._locks.setdefault(caller.owner, trio.Lock()):
            yield self._spec_limits(caller, record)

    def _spec_limits(self, caller: Caller, record: TokenRecord) -> SpecLimits:
        live = self._live_jobs(caller)

        async def check(spec: JobSpec, replacing: bool, new: int) -> datetime | None:
            return await self._limits(record, spec, replacing, live + new)

        return check

    def _live_jobs(self, caller: Caller) -> int:
        return self._live_of(caller.owner)

    def _live_of(self, owner: str) -> int:
        directory = self.switch.tree.directory
        return sum(e.owner == owner and not e.status.terminal for e in directory.entries())

    @asynccontextmanager
    async def admitting_clone(self, template: JobState) -> AsyncIterator[None]:
        """A trigger clone of ``template`` counts against the ``max_jobs`` of the token that
        created the template, as if that token created it: checked and created under the
        owner's lock (see :meth:`admitting`). The other limits were checked on the template
        when it was created (clones keep its spec, owner and expiry).

        Raises:
            Refused: the owner already holds its maximum (``reason`` ``max_jobs``).
        """
        record = self.book.get(template.created_by.token_id or "")
        if record is None or record.limits.max_jobs is None:
            yield
            return
        owner = str(template.owner)
        async with self._locks.setdefault(owner, trio.Lock()):
            live = self._live_of(owner)
            if live >= record.limits.max_jobs:
                self.switch.tree.ports.metrics.enqueue_errors.labels("quota").inc()
                raise Refused(
                    f"token limit max_jobs: {owner} holds {live} live job(s), the most its "
                    f"token allows; the trigger clone of {template.spec.name!r} was not started",
                    reason="max_jobs",
                )
            yield

    async def _limits(
        self, record: TokenRecord, spec: JobSpec, replacing: bool, live: int
    ) -> datetime | None:
        """``spec`` against ``record``'s limits with ``live`` jobs; its ``expires_at``."""
        templates = [t.spec for ref in spec.triggers if (t := await self._template(ref))]
        try:
            return agent_limits.check_job(
                record.limits,
                spec,
                now=self.now(),
                live_jobs=live,
                templates=templates,
                replacing=replacing,
            )
        except Refused as exc:
            label = "action_disallowed" if exc.reason in ("shell", "actions") else "quota"
            self.switch.tree.ports.metrics.enqueue_errors.labels(label).inc()
            raise

    async def _template(self, ref: str) -> JobState | None:
        try:
            return await self.switch.tree.engine.get(ref)
        except (NotFound, InvalidInput, Conflict):
            return None  # admission names the bad reference
