"""The membership's plumbing: connections opened from worker threads, one connection's
calls bounded in time, a LISTEN loop, and the kills of a self-fence."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import trio

from gnomon.runtime import procs
from gnomon.runtime.cluster import sql
from gnomon.runtime.cluster.core import first_line

log = logging.getLogger("gnomon.runtime.cluster.membership")
T = TypeVar("T")


async def open_connection(dsn: str) -> psycopg.Connection[Any]:
    """:func:`sql.connect` in a worker thread; if cancelled meanwhile, that thread closes
    the connection it made."""
    abandoned: list[bool] = []

    def job() -> psycopg.Connection[Any]:
        conn = sql.connect(dsn)
        if abandoned:
            conn.close()
        return conn

    try:
        return await trio.to_thread.run_sync(job, abandon_on_cancel=True)
    except BaseException:
        abandoned.append(True)
        raise


async def kill_own_groups(grace: float) -> None:
    """Stop every process group this process started (:func:`procs.child_groups`)."""
    async with trio.open_nursery() as nursery:
        for pgid in procs.child_groups():
            nursery.start_soon(procs.kill_group, pgid, grace)


class BoundedConnection:
    """One connection, made on first use, whose calls run in a worker thread within
    ``limit`` seconds. Any failure drops the connection (a new one is made next time); one
    whose thread was abandoned (cancelled, too slow) is closed by that thread when it
    returns."""

    def __init__(self, dsn: str, limit: float) -> None:
        self.dsn, self.limit = dsn, limit
        self._conn: psycopg.Connection[Any] | None = None

    async def __call__(self, call: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``call(conn)``. Raises what it raises, ``trio.TooSlowError`` after ``limit``,
        and the errors of connecting (``psycopg.Error``, ``OSError``)."""
        abandoned: list[bool] = []

        def job(conn: psycopg.Connection[Any]) -> T:
            try:
                result = call(conn)
            except BaseException:
                conn.close()
                raise
            if abandoned:
                conn.close()
            return result

        try:
            with trio.fail_after(self.limit):
                conn = await self._connection()
                return await trio.to_thread.run_sync(job, conn, abandon_on_cancel=True)
        except BaseException:
            abandoned.append(True)
            self._conn = None
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
