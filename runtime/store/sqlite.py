"""The SQLite store: the writer actor with group commit, and the queries.

Database calls go through the executor (:mod:`.executor`): one connection, one thread at
a time. Reads go straight through it; writes are units of work for the writer actor,
which groups them into one ``BEGIN IMMEDIATE … COMMIT``, replies to each caller after
the commit, and only then publishes the sealed events.

Two lanes feed the writer. Ordinary units are requests in its bounded mailbox (FIFO;
senders wait for room). Urgent units (``commit(..., urgent=True)``) go to a deque the
store owns, which the writer empties first: each transaction takes every waiting urgent
unit (up to :data:`MAX_BATCH`) plus at most :data:`URGENT_ORDINARY` ordinary ones, or up
to :data:`MAX_BATCH` ordinary ones when no urgent unit waits. An idle writer is woken by
a marker in its mailbox. Like the mailbox, the deque survives a restart of the writer.

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
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import attrs
import trio

from gnomon.runtime.actor import ActorContext, ActorRef, Request, crash_error
from gnomon.runtime.errors import ActorGone, GnomonError, ShuttingDown, StoreUnavailable
from gnomon.runtime.faults import crash_point as default_crash_point
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.store import (
    BootInfo,
    Changes,
    EventQuery,
    FireAlreadyClaimed,
    InboxItem,
    JobQuery,
    JobRow,
    sql,
    sql_metrics,
    tokens_sql,
)
from gnomon.runtime.store.executor import StoreExecutor
from gnomon.runtime.store.health import RETRY_EVERY
from gnomon.runtime.supervisor import ChildSpec, Restart

MAX_BATCH = 256
URGENT_ORDINARY = 64  # ordinary units joining a transaction that carries urgent ones
Publish = Callable[[Sequence[Event]], None]


@attrs.frozen(kw_only=True)
class _Commit(Request[tuple[Event, ...]]):
    changes: Changes


class _Wake:
    """Sent to an idle writer when an urgent unit arrives (skipped when drained)."""


_WAKE = _Wake()


class SqliteStore(StoreExecutor):
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
    ) -> None:
        super().__init__(
            path,
            inline=inline,
            synchronous=synchronous,
            audit_key=audit_key,
            rekey=rekey,
            expect_anchors=expect_anchors,
        )
        self._committed_seq = self._chain.seq  # _chain runs ahead inside a transaction
        self._publish = publish or (lambda events: None)
        self._observe = observe_commit or (lambda seconds: None)
        self._crash_point = crash_point
        self.boot_id = "unbooted"
        self.transactions = 0
        self._writer: ActorRef[Any] | None = None
        self._urgent: deque[_Commit] = deque()
        self._idle = False  # the writer waits in its mailbox
        self._woken = False  # a _WAKE is on its way to the idle writer

    def set_publisher(self, publish: Publish) -> None:
        """Where sealed events go after each commit (the event bus)."""
        self._publish = publish

    def _on_fault(self) -> None:
        """Wake an idle writer: it probes the disk while a fault stands."""
        writer = self._writer
        if writer is not None and self._idle and not self._woken:
            # Fails only when the mailbox is full, and then the writer is not idle for long.
            self._woken = writer.try_tell(_WAKE)

    # -- writing ------------------------------------------------------------------------

    def writer_spec(self, *, restart: Restart = Restart.PERMANENT) -> ChildSpec:
        """The writer actor's child spec (kind and id ``store``)."""
        return ChildSpec(
            id="store",
            kind="store",
            start=self._writer_actor,
            restart=restart,
            mailbox_size=MAX_BATCH,
            shutdown=30.0,
        )

    async def _writer_actor(self, ctx: ActorContext[Any]) -> None:
        self._writer = ctx.ref
        try:
            while not ctx.stop_requested:
                first: object = None
                if not self._urgent:
                    self._idle = True
                    retry = self.health.retrying
                    until = trio.current_time() + RETRY_EVERY if retry else math.inf
                    try:
                        first = await ctx.inbox.receive_until(until, draining=True)
                    finally:
                        self._idle = self._woken = False
                    if first is None and retry and not self._urgent:
                        await self._probe()
                        continue
                await self._commit_next(ctx, first)
            while await self._commit_next(ctx, None):  # asked to stop: commit both lanes
                pass
        finally:
            self._writer = None
            if ctx.stop_requested:  # cut short (shutdown timeout): answer every unit
                gone = ActorGone(f"actor {ctx.ref.path} stopped before answering")
                while self._urgent:
                    self._urgent.popleft().reply.fail(gone)

    async def _commit_next(self, ctx: ActorContext[Any], first: object) -> bool:
        """Commit the next transaction: waiting urgent units first, then ordinary ones
        from the mailbox (``first`` already received). Returns ``False`` if none waited.

        Raises whatever the commit raised, after failing the urgent units in hand (the
        kernel answers the ordinary ones, which it saw received).
        """
        urgent = [self._urgent.popleft() for _ in range(min(len(self._urgent), MAX_BATCH))]
        batch = list(urgent)
        if isinstance(first, _Commit):
            batch.append(first)
        limit = len(urgent) + (URGENT_ORDINARY if urgent else MAX_BATCH)
        while len(batch) < limit:
            try:
                msg = ctx.inbox.receive_nowait()
            except trio.WouldBlock:
                break
            if isinstance(msg, _Commit):
                batch.append(msg)
        if not batch:
            return False
        try:
            await self._commit_batch(batch)
        except StoreUnavailable as exc:  # recorded by the executor; the writer lives on
            for msg in batch:
                if not msg.reply.done:
                    msg.reply.fail(StoreUnavailable(exc.message, recoverable=exc.recoverable))
            return True
        except BaseException as exc:
            error: Exception = (
                crash_error(ctx.ref.path, exc)
                if isinstance(exc, Exception)
                else ActorGone(f"actor {ctx.ref.path} stopped before answering")
            )
            for msg in urgent:
                if not msg.reply.done:
                    msg.reply.fail(error)
            raise
        return True

    async def _commit_batch(self, batch: list[_Commit]) -> None:
        units = [msg.changes for msg in batch]
        started = time.perf_counter()
        results = await self._run(
            lambda: sql.commit_batch(
                self._conn, units, self._chain, self.boot_id, self._crash_point
            )
        )
        self._committed_seq = self._chain.seq
        self.transactions += 1
        self.health.wrote()
        self._observe(time.perf_counter() - started)
        for msg, result in zip(batch, results, strict=True):
            if isinstance(result, FireAlreadyClaimed):
                msg.reply.fail(result)
            else:
                msg.reply.send(result)
        sealed = [e for r in results if not isinstance(r, FireAlreadyClaimed) for e in r]
        if sealed:
            self._publish(sealed)

    async def commit(self, changes: Changes, *, urgent: bool = False) -> tuple[Event, ...]:
        """Write ``changes`` atomically (group-committed); see :class:`~gnomon.runtime.store.Store`.

        ``urgent`` units skip the queue of ordinary ones: they enter the writer's next
        transaction. Each caller's own commits stay in order as long as it awaits each
        one before the next.

        Raises:
            FireAlreadyClaimed: a claim existed; nothing of ``changes`` was written.
            ShuttingDown: the writer is not running.
            ActorCrashed: the transaction failed (nothing of its units was written).
        """
        if not changes:
            return ()
        writer = self._writer
        if writer is None:
            raise ShuttingDown("the store is not running")
        msg = _Commit(changes=changes)
        if not urgent:
            return await writer.ask(msg, timeout=None)
        self._urgent.append(msg)
        self._on_fault()
        return await msg.reply.wait()

    async def _probe(self) -> None:
        """The writer's own probe while a fault stands (a failure stays recorded)."""
        with contextlib.suppress(StoreUnavailable):
            await self._commit_batch([])

    async def probe(self) -> None:
        """Write through the writer, in its urgent lane: a timestamp in ``meta`` when
        nothing else shares the transaction (``/healthz``'s ``store_writable``).

        Raises:
            StoreUnavailable: the write failed (the fault is recorded).
            ShuttingDown: the writer is not running.
            ActorCrashed: the transaction failed otherwise.
        """
        if self._writer is None:
            raise ShuttingDown("the store is not running")
        msg = _Commit(changes=Changes())
        self._urgent.append(msg)
        self._on_fault()
        await msg.reply.wait()

    async def problem(self, timeout: float = 5.0) -> str | None:
        """Why the store cannot write now, or ``None`` when a probe write just succeeded.

        Cancellation: the probe stays queued and is written later; nothing is lost.
        """
        if self.health.fault is not None:
            return self.health.fault.message
        try:
            with trio.fail_after(timeout):
                await self.probe()
        except trio.TooSlowError:
            return f"the store's writer did not answer a probe within {timeout:g} s"
        except GnomonError as exc:
            return exc.message
        return None

    async def wait_writable(self) -> None:
        """Return once the store has no standing fault (see :class:`StoreHealth`).

        Raises:
            StoreUnavailable: the fault, when the daemon is stopping (``health.give_up``).
        """
        await self.health.wait_writable()

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

    async def last_seq(self) -> int:
        """The ``seq`` of the last *committed* event (never one of a batch in flight)."""
        return self._committed_seq

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

    async def inbox(self, owner: str, *, unread_only: bool) -> list[tuple[int, InboxItem, bool]]:
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
