"""The SQLite store: the writer actor with group commit, and the queries.

Database calls go through the executor (:mod:`.executor`): one connection, one thread at
a time. Reads go straight through it; writes are units of work for the writer actor,
which groups them into one ``BEGIN IMMEDIATE … COMMIT``, replies to each caller after
the commit, and only then publishes the sealed events.

The writer actor and its two lanes are :mod:`.writer`'s (shared with the PostgreSQL
store); this class supplies the transaction (:func:`.sql_write.commit_batch`).

Storage failures (a full disk, a read-only file system, an I/O error, corruption) are
no crash: the executor turns them into :class:`~gnomon.runtime.errors.StoreUnavailable`,
which :class:`~gnomon.runtime.store.health.StoreHealth` records; the writer fails the
batch's callers with it and, while the fault is recoverable, probes the disk every
second until a write succeeds again.

Cancellation: a cancelled caller of ``commit`` abandons the answer, not the write; the
executor never abandons a running database call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.faults import crash_point as default_crash_point
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.protocol_inbox import InboxEntry
from gnomon.runtime.store import (
    BootInfo,
    Changes,
    EventQuery,
    JobQuery,
    JobRow,
    sql,
    sql_metrics,
    tokens_sql,
)
from gnomon.runtime.store.checkpoint import AUTO_BOUND, Checkpointer
from gnomon.runtime.store.executor import StoreExecutor
from gnomon.runtime.store.writer import (
    MAX_BATCH,
    URGENT_ORDINARY,
    GroupWriter,
    Publish,
    UnitResult,
)

__all__ = ["MAX_BATCH", "URGENT_ORDINARY", "SqliteStore"]


class SqliteStore(GroupWriter, StoreExecutor):
    """See the module docstring. Build it, then run :meth:`writer_spec` under a supervisor.

    Args:
        path: the database file (``:memory:`` for tests).
        inline: run database calls on the trio thread (virtual-time tests only).
        publish: called with the sealed events of every commit, after the commit.
        observe_commit: called with each transaction's duration in seconds.
        audit_key: the key events are MAC'd with (the daemon's ``<home>/audit.key``;
            tests and tools may leave it empty).
        rekey: start a new keyed segment with ``audit_key`` (the old key is lost).
        expect_anchors: the key is not new, so a chain without anchors is refused.
        background_checkpoints: copy the WAL back from a thread of its own, the writer
            finishing when idle (:mod:`.checkpoint`); off (SQLite's inline automatic
            checkpoint every 1,000 pages), or inline or in memory, as before.

    Raises:
        StoreUnavailable: the file cannot be opened or read, or its chain is keyed with
            another key.
    """

    def __init__(
        self,
        path: str,
        *,
        inline: bool = False,
        synchronous: str = "NORMAL",
        publish: Publish | None = None,
        observe_commit: Callable[[float], None] | None = None,
        crash_point: Callable[[str], None] = default_crash_point,
        audit_key: bytes = b"",
        rekey: bool = False,
        expect_anchors: bool = False,
        background_checkpoints: bool = True,
    ) -> None:
        super().__init__(
            path,
            inline=inline,
            synchronous=synchronous,
            audit_key=audit_key,
            rekey=rekey,
            expect_anchors=expect_anchors,
        )
        self._init_writer(publish, observe_commit, self._chain.seq)
        self._crash_point = crash_point
        self.checkpointer: Checkpointer | None = None
        if background_checkpoints and not inline and path != ":memory:":
            self._conn.execute(f"PRAGMA wal_autocheckpoint={AUTO_BOUND}")
            self.checkpointer = Checkpointer(path, synchronous)
            self.checkpointer.start()

    async def _write_units(self, units: list[Changes]) -> tuple[list[UnitResult], int]:
        """One ``BEGIN IMMEDIATE … COMMIT`` of ``units`` (:func:`sql.commit_batch`)."""
        results = await self._run(
            lambda: sql.commit_batch(
                self._conn, units, self._chain, self.boot_id, self._crash_point
            )
        )
        if self.checkpointer is not None:
            self.checkpointer.wrote()
        return list(results), self._chain.seq

    async def _when_idle(self) -> None:
        """Finish a background WAL checkpoint (:mod:`.checkpoint`) while no unit waits."""
        checkpointer = self.checkpointer
        if checkpointer is not None and checkpointer.behind:
            with contextlib.suppress(StoreUnavailable):  # recorded by the executor
                await self._run(lambda: checkpointer.finish(self._conn))

    def close(self) -> None:
        """Stop the background checkpoints, then close the connection (the last one to
        close copies the WAL back and removes it)."""
        if self.checkpointer is not None:
            self.checkpointer.close()
        super().close()

    # -- reading ------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobState | None:
        return await self._run(lambda: sql.get_job(self._conn, job_id))

    async def job_index(self) -> list[JobRow]:
        return await self._run(lambda: sql.job_index(self._conn))

    async def list_jobs(self, query: JobQuery) -> list[JobState]:
        return await self._run(lambda: sql.list_jobs(self._conn, query))

    async def page_jobs(self, query: JobQuery, after: int = 0) -> list[tuple[int, JobState]]:
        """Matching jobs stored after row ``after``, in storage order, with their row ids
        (``job.list`` pages: a job's row id never changes while it exists)."""
        return await self._run(lambda: sql.page_jobs(self._conn, query, after))

    async def count_jobs(self, query: JobQuery) -> int:
        """How many jobs match ``query`` (``job.list``'s ``total``)."""
        return await self._run(lambda: sql.count_jobs(self._conn, query))

    async def runs(self, job_id: str, limit: int = 100) -> list[RunRecord]:
        return await self._run(lambda: sql.runs_of(self._conn, job_id, limit))

    async def runs_page(
        self,
        job_id: str,
        limit: int,
        *,
        cycle: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> list[tuple[float, RunRecord]]:
        """Newest first, older than ``before`` (``(started_ts, run_id)``), with their
        ``started_ts``."""
        return await self._run(
            lambda: sql.runs_page(self._conn, job_id, limit, cycle=cycle, before=before)
        )

    async def job_catalog(
        self, tag_key: str, classify: Callable[[dict[str, str]], bool | None], limit: int
    ) -> list[sql_metrics.CatalogRow]:
        """The jobs that get per-job series, oldest first (see ``sql_metrics.catalog``)."""
        return await self._run(lambda: sql_metrics.catalog(self._conn, tag_key, classify, limit))

    async def job_history(self, ids: Sequence[str]) -> list[sql_metrics.HistoryRow]:
        """Next fire, last success and last run of the jobs ``ids`` (per-job metrics)."""
        return await self._run(lambda: sql_metrics.history(self._conn, ids))

    async def open_runs(self, other_than_boot: str) -> list[RunRecord]:
        return await self._run(lambda: sql.open_runs(self._conn, other_than_boot))

    async def fire_claimed(self, job_id: str, fire_time: datetime) -> bool:
        return await self._run(lambda: sql.fire_claimed(self._conn, job_id, fire_time))

    async def events(self, query: EventQuery) -> list[Event]:
        return await self._run(lambda: sql.events(self._conn, query))

    async def status_counts(self) -> dict[JobStatus, int]:
        """Stored jobs per status (``/healthz``, ``daemon status``: the dashboard's view)."""
        return await self._run(lambda: sql.status_counts(self._conn))

    async def count(self, table: str) -> int:
        """Rows in ``table`` (tests and stats)."""
        assert table in {"jobs", "fires", "runs", "events", "boots", "inbox", "tokens"}
        query = f"SELECT count(*) FROM {table}"
        return int(await self._run(lambda: sql.scalar(self._conn, query)))

    # -- boots, retention, inbox -------------------------------------------------------

    async def begin_boot(self, boot_id: str, now: datetime) -> BootInfo:
        first, clean = await self._run(lambda: sql.begin_boot(self._conn, boot_id, now))
        self.boot_id = boot_id
        return BootInfo(boot_id=boot_id, previous_clean=clean, first_boot=first)

    async def end_boot(self, boot_id: str, now: datetime) -> None:
        await self._run(lambda: sql.end_boot(self._conn, boot_id, now))

    async def prune(self, now: datetime, batch: int = 500) -> int:
        """Delete one batch of expired terminal jobs; returns how many."""
        return len(await self.prune_ids(now, batch))

    async def prune_ids(self, now: datetime, batch: int = 500) -> list[str]:
        """Delete one batch of expired terminal jobs; returns their ids."""
        return await self._run(lambda: sql.prune(self._conn, now, batch))

    async def inbox(self, owner: str, *, unread_only: bool) -> list[InboxEntry]:
        return await self._run(lambda: sql.inbox(self._conn, owner, unread_only))

    async def ack_inbox(self, owner: str, ids: Sequence[int], now: datetime) -> int:
        return await self._run(lambda: sql.ack_inbox(self._conn, owner, ids, now))

    # -- tokens and switches ------------------------------------------------------------

    def tokens_now(self) -> list[TokenRecord]:
        """Every token, read synchronously (the daemon's start, before the tree runs)."""
        return tokens_sql.tokens(self._conn)

    def switch_now(self, name: str) -> str | None:
        """A stored switch (``gnomon agents off``), read synchronously at start."""
        return tokens_sql.get_switch(self._conn, name)

    async def put_tokens(self, records: Sequence[TokenRecord]) -> None:
        """Insert or update ``records`` atomically (a new token, or revocations)."""
        await self._run(lambda: tokens_sql.put_tokens(self._conn, list(records)))

    async def set_switch(self, name: str, value: str) -> None:
        await self._run(lambda: tokens_sql.set_switch(self._conn, name, value))

    async def update_switch(self, name: str, change: Callable[[str | None], str]) -> str:
        return await self._run(lambda: tokens_sql.update_switch(self._conn, name, change))
