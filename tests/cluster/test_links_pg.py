"""The membership's bounded connection (runtime/cluster/links.py) on a real PostgreSQL: a
call cancelled before its worker thread starts closes the connection it was given instead
of dropping it open (a ``ResourceWarning`` at some later garbage collection, which the
suite's warning filter turns into an error in whichever test is running then). Skipped
without a server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio
from support.pgkit import fresh_database

pytest.importorskip("psycopg")

from gnomon.runtime.cluster.links import BoundedConnection

pytestmark = pytest.mark.slow


@pytest.fixture
def db() -> Iterator[str]:
    with fresh_database() as url:
        yield url


async def test_a_call_cancelled_before_its_thread_starts_closes_the_connection(db: str) -> None:
    bounded = BoundedConnection(db, limit=60)
    conn: Any = await bounded(lambda c: c)  # made on first use, kept for the next call
    assert not conn.closed
    with trio.CancelScope() as scope:
        scope.cancel()  # lands at the thread's start, after the connection was taken
        await bounded(lambda c: c.execute("SELECT 1"))
    assert scope.cancelled_caught
    assert conn.closed
    assert await bounded(lambda c: c.execute("SELECT 1").fetchone()) == (1,)  # a new one
    bounded.close()


async def test_a_call_that_fails_closes_the_connection_and_the_next_makes_another(
    db: str,
) -> None:
    bounded = BoundedConnection(db, limit=60)
    conn: Any = await bounded(lambda c: c)
    with pytest.raises(Exception, match="nope"):
        await bounded(lambda c: c.execute("SELECT * FROM nope"))
    assert conn.closed
    again: Any = await bounded(lambda c: c)
    assert again is not conn
    assert not again.closed
    bounded.close()
    assert again.closed
