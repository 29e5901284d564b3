"""The database stops for everyone (docs/cluster.md, "Failure behaviour"): two real
daemons with ``--cluster`` fire jobs every second on a throwaway PostgreSQL of the test's
own; the server is stopped with ``pg_ctl stop -m immediate`` for 20 s. Within the lease
TTL both nodes fence themselves (metrics, log, ``daemon status`` and ``/healthz`` say so),
a CLI call exits 5 naming the database, ``/healthz`` answers 503 with the reason; within
10 s of the server's return both nodes hold their share again and fire; afterwards there
is exactly one ``job.fired`` per (job, slot), no slot is left out, and ``audit verify``
passes on both.

The shared server at 127.0.0.1:5432 is never stopped: the test starts its own
(``support/pg_server.py``) and is skipped with the reason where it cannot.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from support.cluster_checks import (
    epochs,
    fired_twice,
    moved_more_than_once,
    partitions_by_node,
    query,
    slots_covered,
)
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until
from support.pg_server import throwaway_server

from gnomon.runtime.cluster.core import LeaseTimes

pytestmark = pytest.mark.slow
pytest.importorskip("psycopg")
TTL = LeaseTimes().ttl
DOWN = 20.0  # seconds the server stays stopped (the figure)
RECOVER = 10.0  # the bound: every node holds partitions and fires again within it
JOBS = ("a1", "a2", "b1", "b2")  # a* created on node a, b* on node b


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def metric(daemon: RealDaemon, name: str) -> float:
    """One unlabelled sample of the daemon's /metrics (they answer without the store)."""
    for line in httpx.get(daemon.http + "/metrics", timeout=60).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def fenced(daemon: RealDaemon) -> bool:
    held = metric(daemon, "gnomon_cluster_partitions_held")
    return held == 0 and metric(daemon, "gnomon_cluster_self_fences_total") >= 1


def fired_since(url: str, since: float) -> set[str]:
    rows = query(
        url,
        "SELECT DISTINCT j.name FROM events e JOIN jobs j ON j.id = e.job_id"
        " WHERE e.type = 'job.fired' AND e.ts > %s",
        since,
    )
    return {str(r[0]) for r in rows}


def wait_fenced(daemons: dict[str, RealDaemon], stopped: float) -> dict[str, float]:
    """Seconds from the server's stop to each node's fence (metrics polled every 50 ms)."""
    took: dict[str, float] = {}

    def all_fenced() -> bool:
        for name, daemon in daemons.items():
            if name not in took and fenced(daemon):
                took[name] = time.monotonic() - stopped
        return len(took) == len(daemons)

    until(all_fenced, "both nodes fence themselves", limit=3 * TTL, step=0.05)
    return took


def check_while_down(homes: dict[str, Path], daemons: dict[str, RealDaemon], where: str) -> None:
    """A CLI call exits 5 naming the database; /healthz is 503 with the reason; the log
    says the node fenced itself."""
    listed = gnomon(homes["a"], "jobs", "list")
    assert listed.code == 5, listed
    assert f"database unreachable: {where}" in listed.err, listed.err
    created = gnomon(homes["b"], "schedule", "late", "--every", "1s", "--do", "noop")
    assert created.code == 5, created
    assert "database unreachable" in created.err, created.err
    status = gnomon(homes["a"], "daemon", "status")
    assert status.code == 5, status
    assert "running (pid=" in status.out, status.out
    assert f"problem database unreachable: {where}" in status.out, status.out
    assert "cluster fenced" in status.out, status.out
    print(f"daemon status while the database is down:\n{status.out}")
    as_json = gnomon(homes["b"], "daemon", "status", "--json")
    assert as_json.code == 5, as_json
    assert as_json.json()["running"] is True
    assert as_json.json()["health"]["fenced"] is True
    nodes = gnomon(homes["b"], "nodes")
    assert nodes.code == 5, nodes
    assert f"cluster database unreachable: {where}" in nodes.err, nodes.err
    for name, daemon in daemons.items():
        health = httpx.get(daemon.http + "/healthz", timeout=10)
        assert health.status_code == 503, health.text
        assert "database unreachable" in health.json()["reason"], health.text
        assert health.json()["fenced"] is True
        log = (homes[name] / "daemon.log").read_text()
        assert "fencing this node" in log


def test_the_database_stopped_for_20s_every_node_fences_and_recovers(tmp_path: Path) -> None:
    with throwaway_server() as server:
        url = server.url
        homes = {n: tmp_path / n for n in ("a", "b")}
        env = {n: cli_env(h, GNOMON_CLUSTER_NODE=n) for n, h in homes.items()}
        daemons = {"a": RealDaemon.start(homes["a"], "--store", url, "--cluster", env=env["a"])}
        homes["b"].mkdir()
        shutil.copy(homes["a"] / "audit.key", homes["b"] / "audit.key")  # one chain, one key
        daemons["b"] = RealDaemon.start(homes["b"], "--store", url, "--cluster", env=env["b"])
        try:
            until(lambda: partitions_by_node(url) == {"a": 32, "b": 32}, "an even split")
            for job in JOBS:
                ok(homes[job[0]], "schedule", job, "--every", "1s", "--do", "noop")
            until(lambda: fired_since(url, 0) == set(JOBS), "every job fires")

            before = epochs(url)
            server.stop("immediate")
            stopped = time.monotonic()
            took = wait_fenced(daemons, stopped)
            print(f"fenced after the server stopped: {took}")
            assert max(took.values()) < TTL  # before anyone's lease could have expired
            where = url.split("//", 1)[1]
            check_while_down(homes, daemons, f"postgresql://{where}")
            time.sleep(max(0.0, DOWN - (time.monotonic() - stopped)))

            server.start()
            up, up_wall = time.monotonic(), time.time()
            held = lambda: all(  # noqa: E731
                metric(d, "gnomon_cluster_partitions_held") == 32 for d in daemons.values()
            )
            until(held, "both nodes hold their share again", limit=RECOVER, step=0.05)
            shares = time.monotonic() - up
            until(lambda: fired_since(url, up_wall) == set(JOBS), "every job fires", RECOVER)
            firing = time.monotonic() - up
            print(f"after the server came back: shares {shares:.2f}s, all jobs fire {firing:.2f}s")
            after = epochs(url)
            takes = Counter(after[p] - e for p, e in before.items())
            print(f"takes per partition after the restart (takes: partitions): {dict(takes)}")
            assert moved_more_than_once(before, after) == {}  # each taken once, at a new epoch
            assert all(after[p] == e + 1 for p, e in before.items())

            assert fired_twice(url) == []  # exactly one job.fired per (job, slot)
            assert slots_covered(url) == []  # every slot fired or has its job.skipped
            for home in homes.values():
                assert "hash chain intact" in ok(home, "audit", "verify").out
        finally:
            for n, home in homes.items():  # shown on failure
                print(f"--- node {n} log:\n{(home / 'daemon.log').read_text()[-3000:]}")
            for daemon in daemons.values():
                assert daemon.stop() == 0
