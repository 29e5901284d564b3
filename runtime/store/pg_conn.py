"""Connections of the PostgreSQL store: the URL, the connection slots, the failures.

psycopg 3's synchronous connections are driven from trio worker threads (its async API
needs asyncio). A :class:`Slots` is a few connections with a ``CapacityLimiter`` of the
same size: each database call takes a free connection, runs on a worker thread (inline
on the trio thread in virtual-time tests) and gives it back. A connection found closed
or broken is replaced at its next use, so the store outlives a restart of the server.

Failures become :class:`~gnomon.runtime.errors.StoreUnavailable` (:func:`storage_error`):
the server unreachable or gone, a full disk, corruption — each naming the URL without its
password. Other errors (a constraint, a misuse) are bugs and propagate.

Cancellation: a running database call is never abandoned (trio waits for the thread).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg.errors
import trio

from gnomon.runtime.errors import InvalidInput, StoreUnavailable

T = TypeVar("T")
Conn = psycopg.Connection[Any]
SCHEMES = ("postgresql", "postgres")
URL_FORMS = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]"
CONNECT_TIMEOUT = 5  # seconds


def is_pg_url(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def check_url(url: str, source: str = "store.url") -> str:
    """``url`` if it is a PostgreSQL URL.

    Raises:
        InvalidInput: anything else, naming it and the accepted form.
    """
    if not is_pg_url(url) or not urlsplit(url).path.strip("/"):
        raise InvalidInput(
            f"{source}: {safe_url(url)!r} is not a PostgreSQL URL: expected {URL_FORMS}"
            " (or nothing, for SQLite in the home)"
        )
    return url


def safe_url(url: str) -> str:
    """``url`` without its password (in the netloc or as a ``password=`` option)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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
            " this URL; gnomon retries by itself"
        )
    return None


class Slots:
    """``size`` connections to ``url``, one database call at a time on each."""

    def __init__(self, url: str, size: int, *, inline: bool, first: Conn | None = None) -> None:
        self.url = url
        self._inline = inline
        self._limiter = trio.CapacityLimiter(size)
        self._free: list[Conn | None] = [first] + [None] * (size - 1)

    def _ready(self, conn: Conn | None) -> Conn:
        if conn is None or conn.closed or conn.broken:
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
            conn = self._free.pop()
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
                self._free.append(holder[0])

    def run_now(self, fn: Callable[[Conn], T]) -> T:
        """``fn(connection)`` synchronously (the daemon's start, before trio runs it)."""
        holder = [self._free.pop()]
        try:
            conn = holder[0] = self._ready(holder[0])
            return fn(conn)
        finally:
            self._free.append(holder[0])

    def close(self) -> None:
        for conn in self._free:
            if conn is not None:
                conn.close()
        self._free = [None] * len(self._free)
