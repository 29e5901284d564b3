"""The membership's plumbing: connections opened from worker threads, one connection's
calls bounded in time, a LISTEN loop, and the kills of a self-fence."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import trio

from gnomon.runtime import procs
from gnomon.runtime.cluster.core import first_line
from gnomon.runtime.cluster.handoff import Handoff, open_connection

log = logging.getLogger("gnomon.runtime.cluster.membership")
T = TypeVar("T")


async def kill_own_groups(grace: float) -> None:
    """Stop every process group this process started (:func:`procs.child_groups`)."""
    async with trio.open_nursery() as nursery:
        for pgid in procs.child_groups():
            nursery.start_soon(procs.kill_group, pgid, grace)


class BoundedConnection:
    """One connection, made on first use, whose calls run in a worker thread within
    ``limit`` seconds. Any failure drops the connection (a new one is made next time); one
    whose thread was abandoned (cancelled, too slow) is closed by whichever of the caller
    and the thread lets go of it last (:class:`.handoff.Handoff`), so a cancel landing
    before the thread starts or just as it returns leaks nothing either."""

    def __init__(self, dsn: str, limit: float) -> None:
        self.dsn, self.limit = dsn, limit
        self._conn: psycopg.Connection[Any] | None = None

    async def __call__(self, call: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``call(conn)``. Raises what it raises, ``trio.TooSlowError`` after ``limit``,
        and the errors of connecting (``psycopg.Error``, ``OSError``)."""
        conn: psycopg.Connection[Any] | None = None
        handoff: Handoff | None = None

        def job(conn: psycopg.Connection[Any], handoff: Handoff) -> T:
            handoff.start()
            try:
                result = call(conn)
            except BaseException:
                conn.close()
                handoff.finish(None)
                raise
            handoff.finish(conn)
            return result

        try:
            with trio.fail_after(self.limit):
                conn = await self._connection()
                handoff = Handoff(conn)
                return await trio.to_thread.run_sync(job, conn, handoff, abandon_on_cancel=True)
        except BaseException:
            self._conn = None
            if handoff is not None:
                handoff.abandon()  # closes it unless the thread still runs (it closes it)
            elif conn is not None:
                conn.close()
            raise

    async def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = await open_connection(self.dsn)
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def listen_forever(dsn: str, channel: str, wake: Callable[[], None], pause: float) -> None:
    """LISTEN on ``channel`` and call ``wake()`` after each batch of NOTIFYs; a dropped link
    is made again after ``pause`` seconds. Runs until cancelled; never raises a database
    error."""
    while True:
        try:
            conn = await open_connection(dsn)
        except (psycopg.Error, OSError):
            await trio.sleep(pause)
            continue
        try:
            conn.execute(f"LISTEN {channel}")
            while True:
                await trio.lowlevel.wait_readable(conn.fileno())
                conn.pgconn.consume_input()
                if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
                    break
                woke = False
                while conn.pgconn.notifies() is not None:
                    woke = True
                if woke:
                    wake()
        except (psycopg.Error, OSError) as exc:
            log.info("cluster listener reconnecting: %s", first_line(exc))
        finally:
            conn.close()
        await trio.sleep(pause)
