"""The membership's plumbing: connections opened from worker threads, and the kills of
a self-fence."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import trio

from gnomon.runtime import procs
from gnomon.runtime.cluster import sql


async def open_connection(dsn: str) -> psycopg.Connection[Any]:
    """:func:`sql.connect` in a worker thread; if cancelled meanwhile, the connection it
    made is closed (by the thread, or here if the thread finished just before)."""
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


class Handoff:
    """A connection shared with an abandonable worker thread. Whichever comes last of the
    thread's :meth:`finish` and the cancelled caller's :meth:`abandon` closes it — also
    when the cancel lands before the thread started (then it never will: :meth:`start`
    raises) or just as it returns — so a cancelled call leaks no connection."""

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
        """In the thread, last: ``conn`` is the connection to hand over (None: closed)."""
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


async def kill_own_groups(grace: float) -> None:
    """Stop every process group this process started (:func:`procs.child_groups`)."""
    async with trio.open_nursery() as nursery:
        for pgid in procs.child_groups():
            nursery.start_soon(procs.kill_group, pgid, grace)
