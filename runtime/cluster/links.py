"""The membership's plumbing: connections opened from worker threads, and the kills of
a self-fence."""

from __future__ import annotations

from typing import Any

import psycopg
import trio

from gnomon.runtime import procs
from gnomon.runtime.cluster import sql


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
