"""Access tokens: who may call the daemon, and the limits an agent token carries
(docs/agents.md).

A token is shown once when it is created; the store keeps only its SHA-256. An agent
token's owner is ``agent:NAME``, a user token's ``user:NAME``. Limits apply to every job
the token creates, including what such a job could start later (fallbacks, trigger
templates, slash commands), so nothing it schedules has more authority than the token.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

import attrs

from gnomon.runtime.model.actions import ACTION_TAGS

TokenScope = Literal["read", "write", "admin"]
AGENT_MAX_TTL = 7 * 24 * 3600.0
TOKEN_PREFIX = "gnm_"


def _actions(
    _inst: object,
    _attribute: attrs.Attribute[tuple[str, ...] | None],
    value: tuple[str, ...] | None,
) -> None:
    unknown = sorted(set(value or ()) - set(ACTION_TAGS))
    if unknown:
        raise ValueError(
            f"unknown action type(s) {', '.join(unknown)}; accepted: {', '.join(ACTION_TAGS)}"
        )


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class TokenLimits:
    """What a token's jobs may do; ``None`` means unlimited.

    Attributes:
        max_jobs: live jobs the token's owner may hold at once.
        min_interval: the shortest interval between fires or polls of its jobs (seconds).
        max_ttl: how long its jobs live (seconds): each gets ``expires_at`` this far ahead
            and is cancelled with ``job.expired`` then.
        actions: the action types its jobs may use (``None``: every type).
        shell: whether its jobs may run local commands (shell actions and conditions,
            ``agent_task``, the context commands of LLM conditions).
    """

    max_jobs: int | None = attrs.field(default=None, validator=_positive)
    min_interval: float | None = attrs.field(default=None, validator=_positive)
    max_ttl: float | None = attrs.field(default=None, validator=_positive)
    actions: tuple[str, ...] | None = attrs.field(default=None, validator=_actions)
    shell: bool = True


AGENT_DEFAULTS = TokenLimits(max_ttl=AGENT_MAX_TTL, shell=False)


@attrs.frozen(kw_only=True)
class TokenRecord:
    """One token as stored (its secret is not: only ``hash``)."""

    id: str
    name: str
    scope: TokenScope
    agent: bool
    limits: TokenLimits
    created_at: datetime
    hash: str
    revoked_at: datetime | None = None

    @property
    def owner(self) -> str:
        return f"{'agent' if self.agent else 'user'}:{self.name}"


def token_hash(secret: str) -> str:
    """The SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()
