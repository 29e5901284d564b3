"""The engine's ports implemented by the store: persistence for job actors, the boot
index for recovery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gnomon.actors.directory import JobEntry
from gnomon.actors.inbox import inbox_items
from gnomon.actors.job.ports import Save
from gnomon.runtime.batching import Coalescer
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.store import Changes, JobQuery, Store


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

    async def save_all(self, saves: Sequence[Save]) -> None:
        """``saves`` as one unit of work (a bulk create: every new job or none); a client's
        call, so a store that cannot write fails it at once (``StoreUnavailable``)."""
        changes = [_changes(save) for save in saves]
        await self.store.commit(
            Changes(
                jobs=tuple(j for c in changes for j in c.jobs),
                claims=tuple(k for c in changes for k in c.claims),
                runs=tuple(r for c in changes for r in c.runs),
                inbox=tuple(i for c in changes for i in c.inbox),
                events=tuple(e for c in changes for e in c.events),
            ),
            urgent=any(save.urgent for save in saves),
        )

    async def job_index(self) -> Sequence[JobEntry]:
        return [
            JobEntry(
                id=row.id,
                name=row.name,
                status=row.status,
                wake=row.wake,
                owner=row.owner,
                depends_on=row.depends_on,
            )
            for row in await self.store.job_index()
        ]

    async def open_runs(self, other_than_boot: str) -> Sequence[RunRecord]:
        return await self.store.open_runs(other_than_boot)


def _changes(save: Save) -> Changes:
    """One save as a unit of work (with the inbox items of an agent job's results)."""
    job_id = save.job.id if save.job is not None else save.job_id
    claims = tuple((job_id, t) for t in save.claims) if job_id else ()
    return Changes(
        jobs=(save.job,) if save.job is not None else (),
        claims=claims,
        runs=save.runs,
        inbox=inbox_items(save.job, save.events, save.runs),
        events=save.events,
    )
