"""The SQLite store's executor: one connection, used by one thread at a time.

Every database call runs through :meth:`StoreExecutor._run`: on a worker thread behind a
``CapacityLimiter(1)`` in production, or inline on the trio thread in virtual-time tests
(the autojump clock leaps while a thread runs, trio#456). A storage failure there — a
full disk, a read-only file system, an I/O error, corruption — comes out as
:class:`~gnomon.runtime.errors.StoreUnavailable` and is recorded in :attr:`health`. The
integrity check and the audit chain's verification and pruning live here too; the
writer and the queries are :class:`~gnomon.runtime.store.sqlite.SqliteStore`'s.

Cancellation: the executor never abandons a running database call.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import TypeVar

import trio

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.store import sql
from gnomon.runtime.store.audit import AuditReport, Verifier
from gnomon.runtime.store.chain import Chain, open_chain, prune_events, read_anchors
from gnomon.runtime.store.errors import RESTORE, storage_error
from gnomon.runtime.store.health import StoreHealth, log

T = TypeVar("T")
AUDIT_PAGE = 1000


class StoreExecutor:
    """The connection and its executor (see the module docstring).

    Args:
        path: the database file (``:memory:`` for tests).
        inline: run database calls on the trio thread (virtual-time tests only).
        audit_key: the key events are MAC'd with (the daemon's ``<home>/audit.key``;
            tests and tools may leave it empty).
        rekey: start a new keyed segment with ``audit_key`` (the old key is lost).
        expect_anchors: the key is not new, so a chain without anchors is refused.

    Raises:
        StoreUnavailable: the file cannot be opened or read, its chain is keyed with
            another key, or its anchors are gone while ``expect_anchors``.
    """

    def __init__(
        self,
        path: str,
        *,
        inline: bool = False,
        synchronous: str = "NORMAL",
        audit_key: bytes = b"",
        rekey: bool = False,
        expect_anchors: bool = False,
    ) -> None:
        self.path = path
        self._inline = inline
        self._limiter = trio.CapacityLimiter(1)
        self.health = StoreHealth()
        self._committed_seq = 0
        try:
            self._conn = sql.connect(path, synchronous=synchronous)
            self._chain: Chain
            self._chain, warnings = open_chain(
                self._conn, audit_key, path, rekey=rekey, expect_anchors=expect_anchors
            )
        except sqlite3.Error as exc:
            raise storage_error(exc, path) or exc from None
        for warning in warnings:
            log.error("audit chain of %s: %s; run gnomon audit verify", path, warning)

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store's thread (inline in virtual-time tests).

        Raises:
            StoreUnavailable: a storage failure, also recorded in :attr:`health`.
        """
        try:
            if self._inline:
                await trio.lowlevel.checkpoint()
                return fn()
            return await trio.to_thread.run_sync(fn, limiter=self._limiter)
        except sqlite3.Error as exc:
            error = storage_error(exc, self.path)
            if error is None:
                raise
            self.health.failed(error)
            self._on_fault()
            raise error from exc

    def _on_fault(self) -> None:
        """Called after a storage failure was recorded (the writer probes)."""

    def close(self) -> None:
        """Close the connection (the store is unusable afterwards)."""
        self._conn.close()

    # -- integrity ----------------------------------------------------------------------

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` (``ok`` when healthy)."""
        return str(await self._run(lambda: sql.scalar(self._conn, "PRAGMA integrity_check")))

    def check_integrity(self, budget: float) -> None:
        """SQLite's ``quick_check``, synchronously, at most ``budget`` seconds (the daemon's
        start: a database too large to check in time is logged and used).

        Raises:
            StoreUnavailable: the database is corrupt (the first problem is named).
        """
        try:
            problems = sql.quick_check(self._conn, budget)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) or exc from None
        if problems is None:
            log.warning("integrity check of %s skipped: over %gs", self.path, budget)
        elif problems:
            lines = [ln for p in problems for ln in p.splitlines() if not ln.startswith("***")]
            raise StoreUnavailable(
                f"database corrupt: {self.path}: SQLite's integrity check found:"
                f" {lines[0] if lines else problems[0]}; {RESTORE}",
                recoverable=False,
            )

    # -- the audit chain ----------------------------------------------------------------

    async def verify_audit(self) -> AuditReport:
        """Check the event log against its anchors and MACs (see :mod:`.audit`), up to
        the head recorded when the check starts; pages are read between writes."""
        anchors, memory = await self._run(lambda: (read_anchors(self._conn), self._committed_seq))
        verifier = Verifier(anchors, self._chain.key, memory_head=memory)
        after = 0
        while not verifier.done:
            rows = await self._run(functools.partial(sql.event_rows, self._conn, after, AUDIT_PAGE))
            if not rows:
                break
            if self._inline:
                verifier.feed(rows)
            else:
                await trio.to_thread.run_sync(verifier.feed, rows)
            after = rows[-1][0]
        return verifier.report()

    async def prune_events(self, through_seq: int) -> int:
        """Delete the events up to ``through_seq``, moving the first anchor past them in
        the same transaction; how many went.

        Raises:
            ValueError: past the committed head, or the event is not in the table.
        """
        return await self._run(lambda: prune_events(self._conn, through_seq, self._chain))
