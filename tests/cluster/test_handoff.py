"""A connection shared with an abandonable worker thread is closed exactly when the last of
the two lets go (runtime/cluster/handoff.py): no leak when the cancel lands before the
thread starts or just as it returns, no close under a running thread."""

from __future__ import annotations

import pytest

pytest.importorskip("psycopg")

from gnomon.runtime.cluster.handoff import Handoff


class Conn:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_a_cancel_before_the_thread_starts_closes_it_and_the_thread_never_uses_it() -> None:
    conn = Conn()
    handoff = Handoff(conn)  # type: ignore[arg-type]
    handoff.abandon()
    assert conn.closed
    with pytest.raises(RuntimeError, match="abandoned"):
        handoff.start()


def test_a_cancel_while_the_thread_runs_leaves_the_close_to_the_thread() -> None:
    conn = Conn()
    handoff = Handoff()
    handoff.start()
    handoff.abandon()
    assert not conn.closed
    handoff.finish(conn)  # type: ignore[arg-type]
    assert conn.closed


def test_a_cancel_just_after_the_thread_returned_closes_it() -> None:
    conn, kept = Conn(), Conn()
    handoff = Handoff()
    handoff.start()
    handoff.finish(conn)  # type: ignore[arg-type]
    assert not conn.closed
    handoff.abandon()
    assert conn.closed
    done = Handoff()
    done.start()
    done.finish(kept)  # type: ignore[arg-type]
    assert not kept.closed  # nobody gave up: the caller keeps it
