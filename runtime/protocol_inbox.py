"""Params and results of ``inbox.*``: results addressed to the caller (docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class InboxParams:
    unread_only: bool = False


@attrs.frozen(kw_only=True)
class InboxEntry:
    id: int
    job_id: str | None
    created_at: datetime
    read: bool
    item: dict[str, Any]


@attrs.frozen(kw_only=True)
class AckParams:
    ids: tuple[int, ...]
