"""Params and results of what guards a run: circuit breakers (``breaker.*``) and the shell
policy (``policy.*``) (docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs


@attrs.frozen(kw_only=True)
class BreakerInfo:
    key: str
    status: str
    recent_failures: int
    reopens_at: datetime | None


@attrs.frozen(kw_only=True)
class BreakerParams:
    key: str


@attrs.frozen(kw_only=True)
class PolicyRule:
    kind: Literal["allow", "deny", "builtin"]
    pattern: str


@attrs.frozen(kw_only=True)
class PolicySetParams:
    action: Literal["allow", "deny", "remove"]
    pattern: str


@attrs.frozen(kw_only=True)
class PolicyCheckParams:
    command: str
    i_know: bool = False


@attrs.frozen(kw_only=True)
class PolicyVerdict:
    command: str
    decision: Literal["allow", "ask", "deny"]
    reason: str
