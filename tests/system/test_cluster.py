"""Two real daemons sharing one PostgreSQL with ``--cluster`` (docs/cluster.md): they
split the partitions, each fires the jobs created on it, ``gnomon nodes`` shows both from
either, and when one is SIGKILLed the other takes its partitions over once the lease runs
out and fires its jobs — one fire per slot, one ``job.fired`` per fire, the audit chain
intact. Skipped with the reason where no PostgreSQL server answers."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until
from support.pgkit import fresh_database

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip("psycopg")


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def start(home: Path, url: str, node: str, **extra: str) -> RealDaemon:
    env = cli_env(home, GNOMON_CLUSTER_NODE=node, **extra)
    return RealDaemon.start(home, "--store", url, "--cluster", env=env)


def held(home: Path) -> dict[str, int]:
    nodes = ok(home, "nodes", "--json").json()["nodes"]
    return {n["node"]: n["partitions"] for n in nodes if n["live"]}


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def fires(url: str, name: str, after: str = "") -> int:
    rows = query(
        url,
        "SELECT count(*) FROM fires f JOIN jobs j ON j.id = f.job_id"
        " WHERE j.name = %s AND f.fire_time > %s",
        name,
        after,
    )
    return int(rows[0][0])


def test_two_daemons_share_the_jobs_and_one_takes_over_when_the_other_dies(
    tmp_path: Path,
) -> None:
    with fresh_database() as url:
        a_home, b_home = tmp_path / "a", tmp_path / "b"
        a = start(a_home, url, "node-a")
        b_home.mkdir()
        shutil.copy(a_home / "audit.key", b_home / "audit.key")  # one chain, one key
        b = start(b_home, url, "node-b")
        try:
            until(lambda: held(a_home) == {"node-a": 32, "node-b": 32}, "an even split")
            assert ok(b_home, "nodes").out.splitlines()[-1] == "2 live node(s), 64 partitions"
            listed = lambda: ok(a_home, "nodes", "--json").json()["nodes"]  # noqa: E731
            until(lambda: {n["url"] for n in listed()} == {a.info["url"], b.info["url"]}, "urls")
            status = ok(b_home, "daemon", "status")
            assert "cluster node-b: 32 of 64 partitions, 2 live node(s)" in status.out
            assert ok(a_home, "daemon", "status", "--json").json()["cluster"]["node"] == "node-a"
            ok(a_home, "schedule", "from-a", "--every", "1s", "--do", "noop")
            ok(b_home, "schedule", "from-b", "--every", "1s", "--do", "noop")
            until(lambda: fires(url, "from-a") and fires(url, "from-b"), "both jobs fire")

            b.kill()
            killed = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1))
            until(lambda: held(a_home) == {"node-a": 64}, "node-a takes everything", 20)
            until(lambda: fires(url, "from-b", killed) >= 2, "from-b fires on node-a", 20)

            fired = query(
                url,
                "SELECT count(*), count(DISTINCT (job_id, event::jsonb->'payload'->>'fire_time'))"
                " FROM events WHERE type = 'job.fired'",
            )
            assert fired[0][0] == fired[0][1] > 4  # no slot fired twice
            assert "hash chain intact" in ok(a_home, "audit", "verify").out
            metrics = httpx.get(a.http + "/metrics").text
            assert "gnomon_cluster_partitions_held 64.0" in metrics
            assert "gnomon_cluster_takeovers_total 32.0" in metrics
            assert "gnomon_cluster_lease_renew_seconds_count" in metrics
        finally:
            assert a.stop() == 0
            b.kill()
        assert query(url, "SELECT count(*) FROM cluster_partitions WHERE owner_boot IS NULL") == [
            (64,)
        ]  # node-a handed everything over as it stopped


def test_runs_the_batch_firer_holds_move_with_their_partition_and_their_groups_die(
    tmp_path: Path,
) -> None:
    """Node A alone fires 16 one-shot jobs whose actions run 30 s; the batch firer holds
    them while they run (docs/engine.md, "Batch firing"). Node B joins: A lets go of the
    partitions B takes at once, killing the process groups of the held runs there (not
    300 s later, and before B looks for orphans), and B closes each of those runs as
    ``run.orphaned``; no slot is claimed
    twice and the chain verifies."""
    with fresh_database() as url:
        a_home, b_home = tmp_path / "a", tmp_path / "b"
        pids = tmp_path / "pids"
        bursts = {"GNOMON_LIMITS_OWNER_BURST": "100", "GNOMON_LIMITS_GLOBAL_BURST": "100"}
        a = start(a_home, url, "node-a", **bursts)  # 16 creates at once
        b: RealDaemon | None = None
        try:
            # long enough that the first run is still going when the 16th CLI call returns
            # on a loaded machine (16 calls took > 30 s once)
            action = f"shell: echo $$ >> {pids}; exec sleep 300"
            for i in range(16):
                ok(a_home, "schedule", f"long-{i}", "--in", "1s", "--do", action, "--i-know")
            until(lambda: len(running(url)) == 16, "16 runs in flight on node-a", 60)
            until(lambda: len(pids.read_text().split()) == 16, "16 actions started")
            groups = [int(pid) for pid in pids.read_text().split()]
            b_home.mkdir()
            shutil.copy(a_home / "audit.key", b_home / "audit.key")
            b = start(b_home, url, "node-b")
            until(lambda: held(a_home) == {"node-a": 32, "node-b": 32}, "an even split")
            moved = [job for job in running(url, at_start=True) if owner(url, job) == "node-b"]
            assert moved, "node-b took no partition holding one of the jobs"
            until(lambda: orphaned(url) == set(moved), "node-b closes the moved runs", 15)
            alive = [pid for pid in groups if alive_group(pid)]
            assert len(alive) == 16 - len(moved)  # the moved jobs' groups died, not later
            # ... killed by node-a as it let go, before node-b looked for orphans
            b_log = (b_home / "test-daemon.out").read_text()
            assert b_log.count("was gone") == len(moved), b_log
            assert "was alive" not in b_log
            fired = query(
                url,
                "SELECT count(*), count(DISTINCT (job_id, event::jsonb->'payload'->>'fire_time'))"
                " FROM events WHERE type = 'job.fired'",
            )
            assert fired[0][0] == fired[0][1] >= 16
            assert "hash chain intact" in ok(b_home, "audit", "verify").out
        finally:
            a.kill()  # a graceful stop would wait for its runs (300 s)
            if b is not None:
                b.kill()
            for pid in pids.read_text().split() if pids.exists() else ():
                if alive_group(int(pid)):
                    os.killpg(int(pid), signal.SIGKILL)


def running(url: str, at_start: bool = False) -> list[str]:
    """Job ids with an open run (``at_start``: with any run, open or not)."""
    where = "" if at_start else " WHERE finished_ts IS NULL"
    return [row[0] for row in query(url, f"SELECT DISTINCT job_id FROM runs{where}")]


def owner(url: str, job_id: str) -> str:
    from gnomon.runtime.cluster.core import partition_of

    rows = query(
        url,
        "SELECT n.node FROM cluster_partitions p JOIN cluster_nodes n ON n.boot_id = p.owner_boot"
        " WHERE p.p = %s",
        partition_of(job_id, 64),
    )
    return str(rows[0][0]) if rows else ""


def orphaned(url: str) -> set[str]:
    return {row[0] for row in query(url, "SELECT job_id FROM events WHERE type = 'run.orphaned'")}


def alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
