"""The PostgreSQL store: the same :class:`~gnomon.runtime.store.Store` and unit of work as
the SQLite store, on a PostgreSQL database (``gnomon daemon start --store
postgresql://…``; design: ``docs/store.md``, "The PostgreSQL store").

One writer connection carries every write: the shared writer actor (:mod:`.writer`,
group commit over two lanes) hands it batches of units, each one transaction
(:func:`.pg_write.commit_batch`: the fence, bulk claims, the rows, then the events sealed
under the locked chain head). A few reader connections serve the queries concurrently.
All of them are psycopg 3 synchronous connections driven from trio worker threads
(:mod:`.pg_conn`).

``exclusive`` (the default): the store holds a session advisory lock on its own
connection for its lifetime, so a second daemon on the same database is refused
(``database in use: <url> …``, naming the holder). ``fence``: called inside each commit's
transaction before a unit is written; raising :class:`~gnomon.runtime.store.UnitRejected`
refuses that unit alone (the hook for several daemons on one database). A store that is
not exclusive shares the database: its commits NOTIFY ``gnomon_events`` and
:meth:`last_seq` reads the head from the database (docs/cluster.md).

Failures: the server unreachable, a full disk or corruption become
:class:`~gnomon.runtime.errors.StoreUnavailable` (recorded in :attr:`health`; the
writer probes every second until a write succeeds again). Cancellation: a cancelled
``commit`` abandons the answer, not the write; database calls are never abandoned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import psycopg
import trio

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
    pg_chain,
    pg_misc,
    pg_sql,
    pg_write,
)
from gnomon.runtime.store.audit import AuditReport, Verifier
from gnomon.runtime.store.chain import EventMac
from gnomon.runtime.store.health import StoreHealth, log
from gnomon.runtime.store.pg_conn import Conn, Slots, connect, storage_error
from gnomon.runtime.store.pg_lock import ExclusiveLock
from gnomon.runtime.store.pg_write import Fence
from gnomon.runtime.store.sql_metrics import CatalogRow, HistoryRow
from gnomon.runtime.store.urls import safe_url
from gnomon.runtime.store.writer import GroupWriter, Publish, UnitResult

T = TypeVar("T")
READERS = 3
AUDIT_PAGE = 1000


class PgStore(GroupWriter):
    """See the module docstring. Build it, then run :meth:`writer_spec` under a supervisor.

    Args:
        url: ``postgresql://user[:password]@host[:port]/database``.
        inline: run database calls on the trio thread (virtual-time tests only).
        readers: reader connections (concurrent queries).
        publish, observe_commit, crash_point, audit_key, rekey, expect_anchors: as for
            :class:`~gnomon.runtime.store.sqlite.SqliteStore`.
        fence: called as ``fence(connection, unit)`` in each commit's transaction before
            the unit is written; raises ``UnitRejected`` to refuse that unit alone.
        exclusive: refuse to open a database another exclusive store holds; without it
            the database is shared (commits NOTIFY, ``last_seq`` reads the database).

    Raises:
        StoreUnavailable: the server cannot be reached, the database is in use by
            another daemon, or its chain is keyed with another key.
    """

    def __init__(
        self,
        url: str,
        *,
        inline: bool = False,
        readers: int = READERS,
        publish: Publish | None = None,
        observe_commit: Callable[[float], None] | None = None,
        crash_point: Callable[[str], None] = default_crash_point,
        audit_key: bytes = b"",
        rekey: bool = False,
        expect_anchors: bool = False,
        fence: Fence | None = None,
        exclusive: bool = True,
    ) -> None:
        self.url = url
        self.path = safe_url(url)  # what messages and `daemon status` show
        self.health = StoreHealth()
        self._inline = inline
        self._key = audit_key
        self._mac = EventMac(audit_key)
        self._fence = fence
        self._crash_point = crash_point
        self._exclusive = exclusive
        self._lock: ExclusiveLock | None = None
        first: Conn | None = None
        try:
            first = connect(url)
            self._lock = ExclusiveLock.take(url, self.path) if exclusive else None
            pg_sql.migrate(first)
            head = pg_chain.open_chain(
                first, audit_key, self.path, rekey=rekey, expect_anchors=expect_anchors
            )
        except BaseException as exc:
            if first is not None:
                first.close()
            self.close()
            error = storage_error(exc, url) if isinstance(exc, psycopg.Error) else None
            if error is None:
                raise
            raise error from None
        self._writes = Slots(url, 1, inline=inline, first=first)
        self._reads = Slots(url, readers, inline=inline)
        self._init_writer(publish, observe_commit, head)

    def close(self) -> None:
        """Close every connection (the exclusive lock goes with its connection)."""
        for slots in (getattr(self, "_writes", None), getattr(self, "_reads", None)):
            if slots is not None:
                slots.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    async def _call(self, slots: Slots, fn: Callable[[Conn], T]) -> T:
        """``fn`` on one of ``slots``' connections.

        Raises:
            StoreUnavailable: a storage failure, also recorded in :attr:`health`.
        """
        try:
            return await slots.run(fn)
        except StoreUnavailable as exc:  # the exclusive lock taken by another daemon
            self.health.failed(exc)
            raise
        except psycopg.Error as exc:
            error = storage_error(exc, self.url)
            if error is None:
                raise
            self.health.failed(error)
            self._on_fault()
            raise error from exc

    async def _read(self, fn: Callable[[Conn], T]) -> T:
        return await self._call(self._reads, fn)

    async def _own(self, fn: Callable[[Conn], T]) -> T:
        """``fn`` on the writer's connection, beside the writer (boots, tokens, pruning)."""
        return await self._call(self._writes, fn)

    async def _write_units(self, units: list[Changes]) -> tuple[list[UnitResult], int]:
        """One transaction of ``units`` (:func:`.pg_write.commit_batch`)."""

        def write(conn: Conn) -> tuple[list[UnitResult], int | None]:
            if self._lock is not None:
                self._lock.keep()
            return pg_write.commit_batch(
                conn,
                units,
                self._mac,
                self.boot_id,
                self._crash_point,
                self._fence,
                notify=not self._exclusive,
            )

        results, head = await self._call(self._writes, write)
        return results, self._committed_seq if head is None else max(head, self._committed_seq)

    # -- reading ------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobState | None:
        return await self._read(lambda c: pg_sql.get_job(c, job_id))

    async def job_index(self) -> list[JobRow]:
        return await self._read(pg_sql.job_index)

    async def list_jobs(self, query: JobQuery) -> list[JobState]:
        return [s for _, s in await self._read(lambda c: pg_sql.matching_jobs(c, query, None))]

    async def count_jobs(self, query: JobQuery) -> int:
        """How many jobs match ``query`` (``job.list``'s ``total``)."""
        return await self._read(lambda c: pg_sql.count_jobs(c, query))

    async def page_jobs(self, query: JobQuery, after: int = 0) -> list[tuple[int, JobState]]:
        """Matching jobs stored after row ``after``, in storage order, with their row ids."""
        return await self._read(lambda c: pg_sql.matching_jobs(c, query, after))

    async def runs(self, job_id: str, limit: int = 100) -> list[RunRecord]:
        return [r for _, r in await self._read(lambda c: pg_sql.runs_page(c, job_id, limit))]

    async def runs_page(
        self,
        job_id: str,
        limit: int,
        *,
        cycle: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> list[tuple[float, RunRecord]]:
        """Newest first, older than ``before`` (``(started_ts, run_id)``)."""
        return await self._read(
            lambda c: pg_sql.runs_page(c, job_id, limit, cycle=cycle, before=before)
        )

    async def job_catalog(
        self, tag_key: str, classify: Callable[[dict[str, str]], bool | None], limit: int
    ) -> list[CatalogRow]:
        return await self._read(lambda c: pg_misc.catalog(c, tag_key, classify, limit))

    async def job_history(self, ids: Sequence[str]) -> list[HistoryRow]:
        return await self._read(lambda c: pg_misc.history(c, ids))

    async def open_runs(self, other_than_boot: str) -> list[RunRecord]:
        return await self._read(lambda c: pg_sql.open_runs(c, other_than_boot))

    async def fire_claimed(self, job_id: str, fire_time: datetime) -> bool:
        return await self._read(lambda c: pg_sql.fire_claimed(c, job_id, fire_time))

    async def events(self, query: EventQuery) -> list[Event]:
        return await self._read(lambda c: pg_sql.events(c, query))

    async def status_counts(self) -> dict[JobStatus, int]:
        return await self._read(pg_sql.status_counts)

    async def count(self, table: str) -> int:
        """Rows in ``table`` (tests and stats)."""
        assert table in {"jobs", "fires", "runs", "events", "boots", "inbox", "tokens"}
        query = f"SELECT count(*) FROM {table}"
        return int(await self._read(lambda c: pg_sql.scalar(c, query)))

    async def last_seq(self) -> int:
        """The ``seq`` of the last committed event. On a shared database (a cluster) the
        chain head the database holds, which every node moves.

        Raises:
            StoreUnavailable: a shared database cannot be read.
        """
        if self._exclusive:
            return self._committed_seq
        head = await self._read(lambda c: pg_sql.scalar(c, pg_sql.HEAD_SEQ))
        return max(self._committed_seq, int(head or 0))

    # -- boots, retention, inbox -------------------------------------------------------

    async def begin_boot(self, boot_id: str, now: datetime) -> BootInfo:
        first, clean = await self._own(lambda c: pg_sql.begin_boot(c, boot_id, now))
        self.boot_id = boot_id
        return BootInfo(boot_id=boot_id, previous_clean=clean, first_boot=first)

    async def end_boot(self, boot_id: str, now: datetime) -> None:
        await self._own(lambda c: pg_sql.end_boot(c, boot_id, now))

    async def prune(self, now: datetime, batch: int = 500) -> int:
        """Delete one batch of expired terminal jobs; returns how many."""
        return len(await self.prune_ids(now, batch))

    async def prune_ids(self, now: datetime, batch: int = 500) -> list[str]:
        """Delete one batch of expired terminal jobs; returns their ids."""
        return await self._own(lambda c: pg_write.prune(c, now.timestamp(), batch))

    async def inbox(self, owner: str, *, unread_only: bool) -> list[InboxEntry]:
        return await self._read(lambda c: pg_sql.inbox(c, owner, unread_only))

    async def ack_inbox(self, owner: str, ids: Sequence[int], now: datetime) -> int:
        return await self._own(lambda c: pg_sql.ack_inbox(c, owner, ids, now))

    # -- tokens and switches ------------------------------------------------------------

    def tokens_now(self) -> list[TokenRecord]:
        """Every token, read synchronously (the daemon's start, before the tree runs)."""
        return self._writes.run_now(pg_misc.tokens)

    def switch_now(self, name: str) -> str | None:
        """A stored switch (``gnomon agents off``), read synchronously at start."""
        return self._writes.run_now(lambda c: pg_misc.get_switch(c, name))

    async def put_tokens(self, records: Sequence[TokenRecord]) -> None:
        await self._own(lambda c: pg_misc.put_tokens(c, records))

    async def set_switch(self, name: str, value: str) -> None:
        await self._own(lambda c: pg_misc.set_switch(c, name, value))

    async def update_switch(self, name: str, change: Callable[[str | None], str]) -> str:
        return await self._own(lambda c: pg_misc.update_switch(c, name, change))

    # -- the audit chain ----------------------------------------------------------------

    async def verify_audit(self) -> AuditReport:
        """Check the event log against its anchors and MACs (see :mod:`.audit`), up to
        the head recorded when the check starts; pages are read between writes."""
        committed = self._committed_seq  # before the read: commits meanwhile only add
        anchors = await self._read(pg_chain.read_anchors)
        verifier = Verifier(anchors, self._key, memory_head=committed)
        after = 0
        while not verifier.done:
            rows = await self._read(
                functools.partial(pg_sql.event_rows, after_seq=after, limit=AUDIT_PAGE)
            )
            if not rows:
                break
            if self._inline:
                verifier.feed(rows)
            else:
                await trio.to_thread.run_sync(verifier.feed, rows)
            after = rows[-1][0]
        return verifier.report()

    async def prune_events(self, through_seq: int) -> int:
        """Delete the events up to ``through_seq``, moving the first anchor past them.

        Raises:
            ValueError: past the committed head, or the event is not in the table.
        """
        return await self._own(lambda c: pg_chain.prune_events(c, self._key, through_seq))

    def check_integrity(self, budget: float) -> None:
        """Nothing to do: PostgreSQL checks its own pages (SQLite's ``quick_check`` has
        no counterpart here)."""
        log.debug("no start check for %s (budget %gs)", self.path, budget)
