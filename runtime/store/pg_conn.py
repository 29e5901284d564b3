"""Connections of the PostgreSQL store: the URL, the connection slots, the failures.

psycopg 3's synchronous connections are driven from trio worker threads (its async API
needs asyncio). A :class:`Slots` is a few connections with a ``CapacityLimiter`` of the
same size: each database call takes a free connection, runs on a worker thread (inline
on the trio thread in virtual-time tests) and gives it back. A connection found closed,
broken or closed by the server while idle is replaced at its next use, so the store
outlives a restart of the server.

Failures become :class:`~gnomon.runtime.errors.StoreUnavailable` (:func:`storage_error`):
the server unreachable or gone, a full disk, corruption — each naming the URL without its
password. Other errors (a constraint, a misuse) are bugs and propagate.

Cancellation: a running database call is never abandoned (trio waits for the thread).
"""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import psycopg.errors
import trio

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.store.urls import safe_url

T = TypeVar("T")
Conn = psycopg.Connection[Any]
CONNECT_TIMEOUT = 5  # seconds


def application_name() -> str:
    """Who holds a connection, as ``pg_stat_activity`` shows it (names a lock's holder)."""
    return f"gnomon pid {os.getpid()} on {socket.gethostname()}"[:63]


def connect(url: str) -> Conn:
    """A new autocommit connection (transactions are explicit, ``conn.transaction()``).

    Raises:
        psycopg.OperationalError: the server cannot be reached.
    """
    return psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT,
        application_name=application_name(),
    )


def storage_error(exc: BaseException, url: str) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` for ``exc`` if it is a storage failure, else ``None``."""
    where = safe_url(url)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.errors.DiskFull | psycopg.errors.OutOfMemory):
        return StoreUnavailable(
            f"disk full: {where}: {first}; writes are refused until the server has space;"
            " gnomon retries by itself"
        )
    if isinstance(exc, psycopg.errors.DataCorrupted | psycopg.errors.IndexCorrupted):
        return StoreUnavailable(
            f"database corrupt: {where}: {first}; restore the database from a backup",
            recoverable=False,
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return StoreUnavailable(
            f"database unreachable: {where}: {first}; check that PostgreSQL runs and accepts"
            " this URL"
        )
    return None


def alive(conn: Conn) -> bool:
    """An idle connection is alive unless closed, broken, or readable: the server sent its
    goodbye (a restart, a terminated backend), as an idle session gets nothing else."""
    if conn.closed or conn.broken:
        return False
    return not select.select([conn.fileno()], [], [], 0)[0]


class Slots:
    """``size`` connections to ``url``, one database call at a time on each."""

    def __init__(self, url: str, size: int, *, inline: bool, first: Conn | None = None) -> None:
        self.url = url
        self._inline = inline
        self._limiter = trio.CapacityLimiter(size)
        self._free: list[Conn | None] = [first] + [None] * (size - 1)
        self._closes = 0  # how many times close() ran: a call's connection from before it

    def _ready(self, conn: Conn | None) -> Conn:
        if conn is None or not alive(conn):
            if conn is not None:
                conn.close()
            return connect(self.url)
        return conn

    async def run(self, fn: Callable[[Conn], T]) -> T:
        """``fn(connection)`` on a worker thread (inline in virtual-time tests); a
        closed or broken connection is replaced first.

        Raises:
            psycopg.Error: whatever ``fn`` or the connection raised (the caller maps it).
        """
        async with self._limiter:
            conn, closes = self._free.pop(), self._closes
            holder: list[Conn | None] = [conn]

            def call() -> T:
                ready = holder[0] = self._ready(holder[0])
                return fn(ready)

            try:
                if self._inline:
                    await trio.lowlevel.checkpoint()
                    return call()
                return await trio.to_thread.run_sync(call)
            finally:
                self._give_back(holder[0], closes)

    def run_now(self, fn: Callable[[Conn], T]) -> T:
        """``fn(connection)`` synchronously (the daemon's start, before trio runs it)."""
        holder, closes = [self._free.pop()], self._closes
        try:
            conn = holder[0] = self._ready(holder[0])
            return fn(conn)
        finally:
            self._give_back(holder[0], closes)

    def _give_back(self, conn: Conn | None, closes: int) -> None:
        """Back to the free list, or closed if :meth:`close` ran while it was in use (it
        closed only the free ones: this one would be left open)."""
        if closes != self._closes and conn is not None:
            conn.close()
            conn = None
        self._free.append(conn)

    def close(self) -> None:
        """Close the free connections now, and those in use as their calls return."""
        self._closes += 1
        for conn in self._free:
            if conn is not None:
                conn.close()
        self._free = [None] * len(self._free)
