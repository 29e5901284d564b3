"""Paged answers: cursors and the byte budget of one reply (pure).

No answer may exceed what a client reads in one frame, so lists (``job.list``,
``job.logs``, ``events.list``, the jobs of bulk results) hold at most as many items as fit
in :func:`~gnomon.runtime.protocol_paging.reply_budget` bytes — always at least one, so
paging always advances — and say where to continue. Cursors are opaque to clients: URL-safe
base64 of a small JSON array naming what they page (``["jobs", rowid]``,
``["runs", started_ts, run_id]``), so a cursor passed to the wrong method, or a mangled
one, is invalid input naming it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.protocol_paging import reply_budget

__all__ = [
    "encoded_size",
    "fitting",
    "jobs_cursor",
    "read_jobs_cursor",
    "read_runs_cursor",
    "reply_budget",
    "runs_cursor",
]


def encoded_size(item: Any) -> int:
    """The bytes of ``item`` as the gateway encodes it (compact JSON, ASCII)."""
    return len(json.dumps(wire.unstructure(item), separators=(",", ":")))


def fitting(sizes: Iterable[int], budget: int) -> int:
    """How many leading items of these sizes fit in ``budget`` bytes (a comma between
    each), at least one when there is one; reads only as many sizes as it needs."""
    used = count = 0
    for size in sizes:
        used += size + (1 if count else 0)
        if count and used > budget:
            break
        count += 1
    return count


def _encode(parts: list[Any]) -> str:
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str, method: str) -> list[Any]:
    accepted = [f"the next_cursor of a previous {method} answer", "null (the first page)"]
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        parts = None
    if not (isinstance(parts, list) and parts and parts[0] == kind):
        raise InvalidInput(
            f"{method}: not a cursor of this method: {cursor!r}",
            token=cursor,
            accepted=accepted,
            field="cursor",
        )
    return parts


def jobs_cursor(rowid: int) -> str:
    """The cursor of the jobs after the one stored at ``rowid``."""
    return _encode(["jobs", rowid])


def read_jobs_cursor(cursor: str | None) -> int:
    """The row id a ``job.list`` cursor continues after (0: from the start).

    Raises:
        InvalidInput: not a ``job.list`` cursor.
    """
    if cursor is None:
        return 0
    parts = _decode(cursor, "jobs", "job.list")
    if len(parts) != 2 or not isinstance(parts[1], int) or isinstance(parts[1], bool):
        raise InvalidInput(f"job.list: damaged cursor {cursor!r}", token=cursor, field="cursor")
    return parts[1]


def runs_cursor(started_ts: float, run_id: str) -> str:
    """The cursor of the runs older than this one."""
    return _encode(["runs", started_ts, run_id])


def read_runs_cursor(cursor: str | None) -> tuple[float, str] | None:
    """The ``(started_ts, run_id)`` a ``job.logs`` cursor continues below.

    Raises:
        InvalidInput: not a ``job.logs`` cursor.
    """
    if cursor is None:
        return None
    parts = _decode(cursor, "runs", "job.logs")
    if not (
        len(parts) == 3
        and isinstance(parts[1], int | float)
        and not isinstance(parts[1], bool)
        and isinstance(parts[2], str)
    ):
        raise InvalidInput(f"job.logs: damaged cursor {cursor!r}", token=cursor, field="cursor")
    return float(parts[1]), parts[2]
