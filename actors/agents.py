"""Tokens and the agents kill switch: ``token.*`` and ``agents.*`` (CONTRACT §3.4, §9).

:class:`TokenBook` keeps every token in memory by hash (authentication is synchronous and
happens on every WebSocket upgrade) and writes through to the store; only the admin token
of the home is not in it. :class:`AgentSwitch` is ``agents.enabled``: off pauses every
live agent-owned job (with :data:`KILL_REASON`) and makes :meth:`Agents.gate` refuse
agent calls; on resumes exactly the jobs the switch paused. The config key sets it at
start; ``gnomon agents on|off`` stores it and wins over the config until changed again.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import attrs

from gnomon.actors.admission import Admission
from gnomon.actors.core import agent_limits
from gnomon.actors.tree import EngineTree
from gnomon.runtime.errors import Conflict, InvalidInput, NotFound, Refused, Unauthorized
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.state import JobState
from gnomon.runtime.model.tokens import (
    AGENT_DEFAULTS,
    AGENT_MAX_TTL,
    TOKEN_PREFIX,
    TokenLimits,
    TokenRecord,
    token_hash,
)
from gnomon.runtime.protocol import (
    AgentsParams,
    AgentsState,
    Caller,
    CreateParams,
    TokenCreated,
    TokenCreateParams,
    TokenInfo,
    TokenRevokeParams,
)
from gnomon.runtime.store import JobQuery
from gnomon.runtime.store.sqlite import SqliteStore

KILL_REASON = "agents switched off (gnomon agents on resumes it)"
AGENTS_OFF = "agents are switched off on this daemon (agents.enabled = false)"
AGENT_METHODS_BARRED = frozenset({"system.login_url"})
Handler = Callable[[Caller, Any], Awaitable[Any]]


def info_of(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        id=record.id,
        name=record.name,
        scope=record.scope,
        agent=record.agent,
        owner=record.owner,
        limits=record.limits,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
    )


def limits_for(params: TokenCreateParams) -> TokenLimits:
    """The new token's limits: an agent token always has a time to live (7 d unless set)."""
    if not params.agent:
        return params.limits or TokenLimits()
    limits = params.limits or AGENT_DEFAULTS
    if limits.max_ttl is None:
        limits = attrs.evolve(limits, max_ttl=AGENT_MAX_TTL)
    return limits


class TokenBook:
    """Every token by hash (see the module docstring)."""

    def __init__(self, store: SqliteStore, *, admin_token: str, admin_owner: str) -> None:
        self._store = store
        self._admin = admin_token
        self._admin_owner = admin_owner
        self._records: dict[str, TokenRecord] = {r.id: r for r in store.tokens_now()}
        self._by_hash = {r.hash: r.id for r in self._records.values()}

    def get(self, token_id: str) -> TokenRecord | None:
        return self._records.get(token_id)

    def authenticate(
        self, token: str, client: str | None, client_version: str | None
    ) -> Caller | None:
        """The caller ``token`` stands for; ``None`` for an unknown or revoked token."""
        if secrets.compare_digest(token.encode(), self._admin.encode()):
            return Caller(
                token_id="admin",
                scope="admin",
                owner=self._admin_owner,
                client=client,
                client_version=client_version,
            )
        record = self._records.get(self._by_hash.get(token_hash(token), ""))
        if record is None or record.revoked_at is not None:
            return None
        return Caller(
            token_id=record.id,
            scope=record.scope,
            owner=record.owner,
            agent=record.agent,
            client=client,
            client_version=client_version,
        )

    def active(self, token_id: str) -> bool:
        """``False`` only for a token of this book that was revoked; callers authenticated
        otherwise (the admin token, dashboard logins and sessions) are not the book's."""
        record = self._records.get(token_id)
        return record is None or record.revoked_at is None

    async def create(self, params: TokenCreateParams, now: datetime) -> TokenCreated:
        """A new token.

        Raises:
            InvalidInput: an agent token asked for admin scope, or a bad name.
            Conflict: a live token already has that name.
        """
        if params.agent and params.scope == "admin":
            raise InvalidInput(
                "agent tokens are read or write: an admin agent could lift its own limits",
                token="admin",
                accepted=["read", "write"],
                field="scope",
            )
        if not params.name or any(c.isspace() or c == ":" for c in params.name):
            raise InvalidInput(
                f"bad token name {params.name!r}",
                token=params.name,
                accepted=["a word without spaces or ':'"],
                field="name",
            )
        if any(r.name == params.name and r.revoked_at is None for r in self._records.values()):
            raise Conflict(
                f"a live token is already named {params.name!r}",
                hint="revoke it first, or pick another name",
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(
            id=f"tok-{secrets.token_hex(4)}",
            name=params.name,
            scope=params.scope,
            agent=params.agent,
            limits=limits_for(params),
            created_at=now,
            hash=token_hash(secret),
        )
        await self._store.put_tokens([record])
        self._records[record.id] = record
        self._by_hash[record.hash] = record.id
        return TokenCreated(token=secret, info=info_of(record))

    def listing(self) -> tuple[TokenInfo, ...]:
        return tuple(info_of(r) for r in self._records.values())

    def _find(self, ref: str) -> TokenRecord:
        found = [
            r
            for r in self._records.values()
            if r.id == ref or r.name == ref or (len(ref) >= 6 and r.id.startswith(ref))
        ]
        live = [r for r in found if r.revoked_at is None] or found
        if len(live) != 1:
            what = "no token" if not live else "more than one token"
            raise NotFound(f"{what} matches {ref!r}", hint="gnomon token list")
        return live[0]

    async def revoke(self, params: TokenRevokeParams, now: datetime) -> tuple[TokenInfo, ...]:
        """Revoke tokens by reference, or every agent token; already revoked ones stay."""
        if not params.ids and not params.all_agents:
            raise InvalidInput("revoke which tokens?", accepted=["ID…", "--all-agents"])
        chosen = [self._find(ref) for ref in params.ids]
        if params.all_agents:
            chosen += [r for r in self._records.values() if r.agent]
        fresh = [
            attrs.evolve(r, revoked_at=now) for r in dict.fromkeys(chosen) if r.revoked_at is None
        ]
        await self._store.put_tokens(fresh)
        for r in fresh:
            self._records[r.id] = r
        return tuple(info_of(r) for r in fresh)


class AgentSwitch:
    """``agents.enabled``: mirrored into admission, applied to agent-owned jobs."""

    def __init__(self, tree: EngineTree, store: SqliteStore, *, configured: bool) -> None:
        self.tree = tree
        self._store = store
        stored = store.switch_now("agents.enabled")
        self.enabled = configured if stored is None else stored == "true"
        self._mirror()

    @property
    def _admission(self) -> Admission:
        return self.tree.engine.admission

    def _mirror(self) -> None:
        self._admission.config = attrs.evolve(self._admission.config, agents_enabled=self.enabled)

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

    async def pause_all(self) -> int:
        changed = 0
        for job_id in self._agent_entries():
            entry = self.tree.directory.get(job_id)
            if entry is None or entry.status is JobStatus.PAUSED:
                continue
            changed += await self._command(job_id, "pause", KILL_REASON)
        return changed

    async def _resume_ours(self) -> int:
        query = JobQuery(statuses=frozenset({JobStatus.PAUSED}), limit=100_000)
        paused = [
            s.id
            for s in await self._store.list_jobs(query)
            if s.owner.kind.value == "agent" and s.message == KILL_REASON
        ]
        return sum([await self._command(job_id, "resume", "") for job_id in paused])

    async def _command(self, job_id: str, op: Any, reason: str) -> int:
        try:
            await self.tree.engine.command(job_id, op, reason=reason)
        except (Conflict, NotFound):
            return 0
        return 1

    async def set(self, enabled: bool) -> int:
        self.enabled = enabled
        self._mirror()
        await self._store.set_switch("agents.enabled", "true" if enabled else "false")
        return await self.apply()

    def agent_jobs(self) -> int:
        return len(self._agent_entries())


@attrs.define
class Agents:
    """The ``token.*`` and ``agents.*`` handlers, and the per-call gate."""

    book: TokenBook
    switch: AgentSwitch
    now: Callable[[], datetime]

    def handlers(self) -> dict[str, Handler]:
        return {
            "token.create": self.token_create,
            "token.list": self.token_list,
            "token.revoke": self.token_revoke,
            "agents.status": self.status,
            "agents.set": self.set,
        }

    def gate(self, caller: Caller, method: str) -> None:
        """Refuse a call from a revoked token, or from an agent while agents are off.

        Raises:
            Unauthorized: the token was revoked since the connection opened.
            Refused: agents are switched off (reason ``agents_disabled``).
        """
        if not self.book.active(caller.token_id):
            raise Unauthorized("unauthorized: this token was revoked")
        if caller.agent and not self.switch.enabled:
            raise Refused(
                AGENTS_OFF, reason="agents_disabled", hint="an operator can run: gnomon agents on"
            )
        if caller.agent and method in AGENT_METHODS_BARRED:
            raise Unauthorized(f"unauthorized: {method} is not open to agent tokens")

    async def admit_job(self, caller: Caller, p: CreateParams) -> datetime | None:
        """Check a new job against its token's limits (before admission and the engine);
        its ``expires_at``.

        Raises:
            Refused: a limit is broken (``reason`` names it; counted in
                ``gnomon_enqueue_errors_total`` as ``quota`` or ``action_disallowed``).
        """
        record = self.book.get(caller.token_id)
        if record is None:
            return None
        directory = self.switch.tree.directory
        live = [e for e in directory.entries() if e.owner == caller.owner]
        replacing = p.replace and directory.live_name(p.spec.name) is not None
        templates = [t.spec for ref in p.spec.triggers if (t := await self._template(ref))]
        try:
            return agent_limits.check_job(
                record.limits,
                p.spec,
                now=self.now(),
                live_jobs=sum(not e.status.terminal for e in live),
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

    async def token_create(self, caller: Caller, p: TokenCreateParams) -> TokenCreated:
        return await self.book.create(p, self.now())

    async def token_list(self, caller: Caller, _: Any) -> tuple[TokenInfo, ...]:
        return self.book.listing()

    async def token_revoke(self, caller: Caller, p: TokenRevokeParams) -> tuple[TokenInfo, ...]:
        revoked = await self.book.revoke(p, self.now())
        if p.all_agents:  # the kill switch's other form: their jobs stop too
            await self.switch.pause_all()
        return revoked

    async def status(self, caller: Caller, _: Any) -> AgentsState:
        return AgentsState(enabled=self.switch.enabled, agent_jobs=self.switch.agent_jobs())

    async def set(self, caller: Caller, p: AgentsParams) -> AgentsState:
        changed = await self.switch.set(p.enabled)
        return AgentsState(
            enabled=self.switch.enabled, changed=changed, agent_jobs=self.switch.agent_jobs()
        )
