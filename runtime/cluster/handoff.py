"""Connections made in abandonable worker threads without leaking them on cancellation.

``trio.to_thread.run_sync(..., abandon_on_cancel=True)`` lets a cancelled caller go on
while its thread finishes. A connection the thread made or used must then be closed by
whichever side comes last: the thread (the caller gave up while it ran) or the caller (the
thread had finished just as the cancel landed, or never started). A plain flag set by the
caller after the cancel misses the second case: the connection is dropped unclosed.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import trio

from gnomon.runtime.cluster import sql


class Handoff:
    """A connection shared between a caller and its abandonable worker thread (see the
    module docstring)."""

    def __init__(self, conn: psycopg.Connection[Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._conn, self._running, self._abandoned = conn, False, False

    def start(self) -> None:
        """In the thread, first.

        Raises:
            RuntimeError: the caller already gave up (the connection may be closed).
        """
        with self._lock:
            if self._abandoned:
                raise RuntimeError("abandoned before the thread started")
            self._running = True

    def finish(self, conn: psycopg.Connection[Any] | None) -> None:
        """In the thread, last: ``conn`` is the connection handed over (None: closed)."""
        with self._lock:
            self._running, self._conn = False, conn
            if self._abandoned and conn is not None:
                conn.close()

    def abandon(self) -> None:
        """In the cancelled caller: close the connection unless the thread still runs."""
        with self._lock:
            self._abandoned = True
            if not self._running and self._conn is not None:
                self._conn.close()


async def open_connection(dsn: str) -> psycopg.Connection[Any]:
    """:func:`.sql.connect` in a worker thread; cancelled, it leaks no connection."""
    handoff = Handoff()

    def job() -> psycopg.Connection[Any]:
        handoff.start()
        conn = sql.connect(dsn)
        handoff.finish(conn)
        return conn

    try:
        return await trio.to_thread.run_sync(job, abandon_on_cancel=True)
    except BaseException:
        handoff.abandon()
        raise
