"""Who may call what: scopes, the resolved :class:`Caller`, and the params and results of
``token.*`` and ``agents.*`` (docs/protocol.md, docs/agents.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from gnomon.runtime.model.tokens import TokenLimits

Scope = Literal["read", "write", "admin"]
SCOPE_RANK = {"read": 0, "write": 1, "admin": 2}
#: How a caller authenticated: the token itself, a dashboard login ticket, a session
#: token, or a job credential (the derived credential a ``slash_cmd`` run gets).
Via = Literal["token", "login", "session", "job"]


def lower_scope(a: Scope, b: Scope) -> Scope:
    """The narrower of two scopes."""
    return a if SCOPE_RANK[a] <= SCOPE_RANK[b] else b


@attrs.frozen(kw_only=True)
class Caller:
    """Who is calling: resolved from the credential by the gateway, passed to every method.

    ``token_id`` is always the *token* the credential stands for (``admin`` for the home's
    admin token): a session or job credential carries its parent token's id, owner, agent
    flag and limits, and ``scope`` is never broader than that token's.
    """

    token_id: str
    scope: Scope
    owner: str
    agent: bool = False
    client: str | None = None
    client_version: str | None = None
    parent_job: str | None = None  # the job whose run made this call (its slash command)
    parent_run: str | None = None
    via: Via = "token"

    def may(self, needed: Scope) -> bool:
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[needed]

    def narrowed(self, scope: Scope, via: Via) -> Caller:
        """This caller reached through a credential of ``scope`` (never broader)."""
        return attrs.evolve(self, scope=lower_scope(self.scope, scope), via=via)


@attrs.frozen(kw_only=True)
class TokenCreateParams:
    """A new token; an agent token's scope is read or write, its limits default to
    docs/agents.md's (no shell, a 7 d TTL)."""

    name: str
    scope: Scope = "write"
    agent: bool = False
    limits: TokenLimits | None = None


@attrs.frozen(kw_only=True)
class TokenInfo:
    """A token without its secret."""

    id: str
    name: str
    scope: Scope
    agent: bool
    owner: str
    limits: TokenLimits
    created_at: datetime
    revoked_at: datetime | None = None


@attrs.frozen(kw_only=True)
class TokenCreated:
    """The new token's secret (shown this once) and its record."""

    token: str
    info: TokenInfo


@attrs.frozen(kw_only=True)
class TokenRevokeParams:
    """Tokens to revoke by id (or unique id prefix or name), or every agent token."""

    ids: tuple[str, ...] = ()
    all_agents: bool = False


@attrs.frozen(kw_only=True)
class AgentsParams:
    enabled: bool


@attrs.frozen(kw_only=True)
class AgentsState:
    """The kill switch; ``changed`` counts the agent jobs paused or resumed by this call."""

    enabled: bool
    changed: int = 0
    agent_jobs: int = 0
