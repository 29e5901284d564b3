"""Params and results of ``inbox.*``: results addressed to the caller (docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class InboxParams:
    unread_only: bool = False


@attrs.frozen(kw_only=True)
class InboxResult:
    """One result for an agent (docs/agents.md): a fire of its job that ended for good
    (``job.completed``, ``job.failed``, ``job.timed_out``), or the job's own end.
    ``summary`` is ``"<name> <status>: <message or outcome>"``; the run fields are set
    when a run ended it (``duration`` in seconds, ``output`` its tail)."""

    summary: str
    event: str
    job_id: str
    name: str
    status: str
    outcome: str | None = None
    message: str = ""
    cycle: int | None = None
    at: datetime
    run_id: str | None = None
    attempt: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = None
    exit_code: int | None = None
    output: str | None = None


@attrs.frozen(kw_only=True)
class InboxEntry:
    id: int
    job_id: str | None
    created_at: datetime
    read: bool
    item: InboxResult


@attrs.frozen(kw_only=True)
class AckParams:
    ids: tuple[int, ...]
