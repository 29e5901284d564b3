"""A clustered daemon that fenced itself while starting still starts (docs/cluster.md):
its event loop stalls past its lease's trust window between recovery and
``daemon.started`` (``GNOMON_STALL_AT=before_started:5``, as a long synchronous boot step
or a frozen machine would), so the fence refuses ``daemon.started``; the daemon waits
for its next renewal to lift the fence and announces then — before, the start failed
with exit 5 ("daemon did not start"). Skipped without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, cli_env
from support.pgkit import fresh_database

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.slow


def test_a_node_fenced_while_starting_starts_once_its_lease_renews(tmp_path: Path) -> None:
    with fresh_database() as url:
        home = tmp_path / "a"
        env = cli_env(home, GNOMON_CLUSTER_NODE="a", GNOMON_STALL_AT="before_started:5")
        daemon = RealDaemon.start(home, "--store", url, "--cluster", env=env)
        try:
            text = (home / "daemon.log").read_text()
            assert "fenced while starting" in text, text[-2000:]
            assert "cluster lease renewed again" in text, text[-2000:]
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM events WHERE type = 'daemon.started'"
                ).fetchone()
            assert row is not None
            assert row[0] == 1
            code = daemon.stop()
        finally:
            daemon.kill()
        assert code == 0
