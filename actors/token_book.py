"""The token book: every token by hash, and the caller each one stands for.

:class:`TokenBook` keeps every token in memory by hash (authentication is synchronous and
happens on every WebSocket upgrade) and writes through to the store; only the admin token
of the home (id :data:`ADMIN_ID`) is not in it. :meth:`TokenBook.principal` is how every
credential derived from a token (dashboard sessions, job credentials:
runtime/gateway/credentials.py) finds its parent again on each use.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

import attrs

from gnomon.runtime.errors import InvalidInput, NotFound
from gnomon.runtime.model.tokens import (
    AGENT_DEFAULTS,
    AGENT_MAX_TTL,
    TOKEN_PREFIX,
    TokenLimits,
    TokenRecord,
    token_hash,
)
from gnomon.runtime.protocol_access import (
    Caller,
    TokenCreated,
    TokenCreateParams,
    TokenInfo,
    TokenRevokeParams,
)
from gnomon.runtime.store import Store, TokenNameTaken

ADMIN_ID = "admin"


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

    def __init__(self, store: Store, *, admin_token: str, admin_owner: str) -> None:
        self._store = store
        self._admin = admin_token
        self._admin_owner = admin_owner
        self._records: dict[str, TokenRecord] = {}
        self._by_hash: dict[str, str] = {}
        self.adopt(store.tokens_now())
        #: moves with every change made through this book (a cluster's reload of the
        #: tokens read before it is thrown away: runtime/cluster/settings.py)
        self.version = 0

    def adopt(self, records: Iterable[TokenRecord]) -> None:
        """Hold exactly ``records`` (every token as stored): in a cluster, the tokens
        another node made become valid here, and those it revoked stop being."""
        self._records = {r.id: r for r in records}
        self._by_hash = {r.hash: r.id for r in self._records.values()}

    def get(self, token_id: str) -> TokenRecord | None:
        return self._records.get(token_id)

    def authenticate(
        self, token: str, client: str | None, client_version: str | None
    ) -> Caller | None:
        """The caller ``token`` stands for; ``None`` for an unknown or revoked token."""
        if secrets.compare_digest(token.encode(), self._admin.encode()):
            token_id: str | None = ADMIN_ID
        else:
            token_id = self._by_hash.get(token_hash(token))
        caller = None if token_id is None else self.principal(token_id)
        if caller is None:
            return None
        return attrs.evolve(caller, client=client, client_version=client_version)

    def principal(self, token_id: str) -> Caller | None:
        """The caller token ``token_id`` stands for now (``admin``: the home's admin
        token); ``None`` for an unknown or revoked token. Derived credentials (sessions,
        job credentials) resolve their parent with it on every use."""
        if token_id == ADMIN_ID:
            return Caller(token_id=ADMIN_ID, scope="admin", owner=self._admin_owner)
        record = self._records.get(token_id)
        if record is None or record.revoked_at is not None:
            return None
        return Caller(
            token_id=record.id, scope=record.scope, owner=record.owner, agent=record.agent
        )

    def active(self, token_id: str) -> bool:
        """Whether ``token_id`` is the admin token or a live token of this book: every
        caller, however it authenticated, names the token it stands for."""
        return self.principal(token_id) is not None

    async def create(self, params: TokenCreateParams, now: datetime) -> TokenCreated:
        """A new token.

        Raises:
            InvalidInput: an agent token asked for admin scope, or a bad name.
            TokenNameTaken: a live token already has that name (a ``Conflict``): in this
                book, or, in a cluster, in the database — a token another node created
                that this node has not read yet (runtime/store/pg_misc.py
                ``check_live_names``).
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
            raise TokenNameTaken(params.name)
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
        self.version += 1
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
        self.version += 1
        return tuple(info_of(r) for r in fresh)
