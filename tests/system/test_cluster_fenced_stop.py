"""A clustered daemon that fenced itself still stops cleanly (docs/cluster.md): a row lock
on its lease's row blocks its renewals while the database stays reachable, so it fences
itself; SIGTERM then stops it with exit 0 — ``daemon.stopped``, refused by the fence, is
only logged (the stop failed with exit 5 before, which a loaded CI machine, where nodes
fence more often, hit at the end of the cluster tests). Skipped without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, cli_env, until
from support.pgkit import fresh_database

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.slow


def test_a_fenced_node_stops_with_exit_0(tmp_path: Path) -> None:
    with fresh_database() as url:
        home = tmp_path / "a"
        daemon = RealDaemon.start(
            home, "--store", url, "--cluster", env=cli_env(home, GNOMON_CLUSTER_NODE="a")
        )
        log = home / "daemon.log"
        try:
            with psycopg.connect(url) as blocker:  # one transaction, held until the stop
                row = blocker.execute(
                    "SELECT boot_id FROM cluster_nodes WHERE node = 'a' FOR UPDATE"
                ).fetchone()
                assert row is not None
                until(lambda: "fencing this node" in log.read_text(), "node a fences itself")
                code = daemon.stop()
                blocker.rollback()
        finally:
            daemon.kill()
        text = log.read_text()
        assert code == 0, text[-2000:]
        assert "daemon.stopped not recorded: this node fenced itself" in text
