"""Helpers for store tests: states, drafts and a running store in the test's nursery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from gnomon.runtime import Supervisor
from gnomon.runtime.model.actions import NoopAction, ShellAction
from gnomon.runtime.model.enums import JobStatus, OwnerKind
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import OnceSchedule
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OWNER = Owner(kind=OwnerKind.USER, id="alice")


def state(
    job_id: str,
    name: str | None = None,
    status: JobStatus = JobStatus.PENDING,
    command: str | None = None,
    **kw: object,
) -> JobState:
    action = ShellAction(command=command) if command else NoopAction()
    spec = JobSpec(name=name or job_id, schedule=OnceSchedule(at=T0), action=action)
    return JobState(
        id=job_id, spec=spec, owner=OWNER, created_at=T0, updated_at=T0, status=status, **kw
    )  # type: ignore[arg-type]


def draft(job_id: str, message: str = "", at: datetime = T0) -> EventDraft:
    return EventDraft(type=EventType.JOB_CREATED, timestamp=at, job_id=job_id, message=message)


async def running_store(
    nursery: trio.Nursery, path: Path | str, *, boot: str | None = None, **kw: object
) -> SqliteStore:
    """A store with its writer actor running under a supervisor in ``nursery``: SQLite at
    ``path``, or PostgreSQL when ``path`` is a ``postgresql://`` URL (typed as the SQLite
    store: both have the same methods)."""
    inline = kw.pop("inline", True)
    if str(path).startswith("postgresql://"):
        from gnomon.runtime.store.pg import PgStore

        pg = PgStore(str(path), inline=inline, **kw)  # type: ignore[arg-type]
        await nursery.start(Supervisor("infra", children=[pg.writer_spec()]).run)
        await pg.begin_boot(boot or f"boot-{uuid.uuid4().hex[:8]}", T0)
        nursery.start_soon(_close_at_end, pg)
        return pg  # type: ignore[return-value]
    store = SqliteStore(str(path), inline=inline, **kw)  # type: ignore[arg-type]
    await nursery.start(Supervisor("infra", children=[store.writer_spec()]).run)
    await store.begin_boot(boot or f"boot-{uuid.uuid4().hex[:8]}", T0)
    return store


async def _close_at_end(store: Any) -> None:
    """Close ``store``'s connections when the test's nursery ends."""
    try:
        await trio.sleep_forever()
    finally:
        store.close()


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
