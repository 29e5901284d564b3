"""The engine's ports implemented by the store: persistence for job actors, the boot
index for recovery."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from gnomon.actors.core.job.tx import timers
from gnomon.actors.directory import JobEntry
from gnomon.actors.job.ports import Persistence, Save
from gnomon.runtime.batching import Coalescer
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.inbox import inbox_items
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.store import Changes, JobQuery, Store

#: Job ids read in one query by :meth:`StorePersistence.load_many`.
LOAD_CHUNK = 500


class EnginePersistence(Persistence, Protocol):
    """The job actors' persistence, and deleting finished jobs' records (``job.clear``)."""

    async def delete(self, job_ids: Sequence[str]) -> None:
        """Delete the jobs' records (state, runs, claims) in one unit of work.

        Raises:
            StoreUnavailable: the store cannot write; nothing was deleted.
        """
        ...


class StorePersistence:
    """:class:`~gnomon.actors.job.ports.Persistence` and
    :class:`~gnomon.actors.recovery.BootPort` over a :class:`~gnomon.runtime.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.loads = Coalescer(self._load_many)

    async def load(self, job_id: str) -> JobState | None:
        """The job's committed state; loads that arrive together share one store read
        (a storm activates thousands of job actors in the same second)."""
        return await self.loads.get(job_id)

    async def _load_many(self, ids: Sequence[str]) -> Mapping[str, JobState]:
        query = JobQuery(ids=tuple(ids), include_terminal=True, limit=len(ids))
        return {state.id: state for state in await self.store.list_jobs(query)}

    async def save(self, save: Save) -> None:
        """One unit of work (with the inbox items of an agent job's results); a claim that
        exists raises ``FireAlreadyClaimed`` (a Conflict).

        While the store cannot write (``StoreUnavailable``: a full disk), the unit waits
        for it and is committed whole later — the job actor that made it has moved on and
        performs no effect before it is saved — unless it is a client's (``save.client``),
        which fails at once, or the daemon is stopping (the unit is dropped; recovery
        replays from the last committed state).

        Raises:
            Conflict: a claim exists (nothing was written).
            StoreUnavailable: a client's save, or a stopping daemon's.

        Cancellation: abandons the unit (nothing of it was written).
        """
        changes = _changes(save)
        while True:
            try:
                await self.store.commit(changes, urgent=save.urgent)
                return
            except StoreUnavailable:
                if save.client:
                    raise
            await self.store.wait_writable()

    async def load_many(self, job_ids: Sequence[str]) -> Mapping[str, JobState]:
        """The committed states of ``job_ids`` (deleted ones left out), read
        :data:`LOAD_CHUNK` ids at a time."""
        out: dict[str, JobState] = {}
        for at in range(0, len(job_ids), LOAD_CHUNK):
            out.update(await self._load_many(job_ids[at : at + LOAD_CHUNK]))
        return out

    async def save_many(
        self, saves: Sequence[Save], *, urgent: bool = False
    ) -> list[Exception | None]:
        """``saves`` as independent units of one transaction (``Store.commit_many``):
        ``None`` for each written, the refusal (``FireAlreadyClaimed``, ``UnitRejected``)
        of each refused alone. While the store cannot write, waits and retries the whole
        call (nothing of it was written); a stopping daemon's call raises
        ``StoreUnavailable``.

        Cancellation: abandons the answer; the units may be written.
        """
        units = [_changes(save) for save in saves]
        while True:
            try:
                results = await self.store.commit_many(units, urgent=urgent)
                return [r if isinstance(r, Exception) else None for r in results]
            except StoreUnavailable:
                pass
            await self.store.wait_writable()

    async def save_all(self, saves: Sequence[Save]) -> None:
        """``saves`` as one unit of work (a bulk create: every new job or none); a client's
        call, so a store that cannot write fails it at once (``StoreUnavailable``)."""
        changes = [_changes(save) for save in saves]
        await self.store.commit(
            Changes(
                jobs=tuple(j for c in changes for j in c.jobs),
                wakes=tuple(w for c in changes for w in c.wakes),
                claims=tuple(k for c in changes for k in c.claims),
                runs=tuple(r for c in changes for r in c.runs),
                inbox=tuple(i for c in changes for i in c.inbox),
                events=tuple(e for c in changes for e in c.events),
            ),
            urgent=any(save.urgent for save in saves),
        )

    async def delete(self, job_ids: Sequence[str]) -> None:
        """Delete the jobs' records in one unit of work (``job.clear``: a client's call, so
        a store that cannot write fails it at once).

        Raises:
            StoreUnavailable: the store cannot write; nothing was deleted.
        """
        await self.store.commit(Changes(deleted_jobs=tuple(job_ids)))

    async def job_index(self) -> Sequence[JobEntry]:
        return [
            JobEntry(
                id=row.id,
                name=row.name,
                status=row.status,
                wake=row.wake,
                owner=sys.intern(row.owner),  # owners are few: one string each
                depends_on=row.depends_on,
            )
            for row in await self.store.job_index()
        ]

    async def open_runs(self, other_than_boot: str) -> Sequence[RunRecord]:
        return await self.store.open_runs(other_than_boot)


def wake_of(state: JobState) -> datetime | None:
    """The earliest timer the state machine derives for ``state`` (``None``: none)."""
    return min(timers(state).values(), default=None)


def _changes(save: Save) -> Changes:
    """One save as a unit of work (with the inbox items of an agent job's results)."""
    job_id = save.job.id if save.job is not None else save.job_id
    claims = tuple((job_id, t) for t in save.claims) if job_id else ()
    if save.job is None:
        jobs: tuple[JobState, ...] = ()
        wakes: tuple[datetime | None, ...] = ()
    else:
        jobs = (save.job,)
        wakes = (save.wake if save.wake is not None else wake_of(save.job),)
    return Changes(
        jobs=jobs,
        wakes=wakes,
        claims=claims,
        runs=save.runs,
        inbox=inbox_items(save.job, save.events, save.runs),
        events=save.events,
    )
