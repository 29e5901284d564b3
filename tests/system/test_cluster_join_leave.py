"""A node joins and another leaves gracefully while jobs fire (docs/cluster.md, "Failure
behaviour"): three real daemons with ``--cluster`` fire 24 jobs every second; a 4th joins
and is given its fair share; then one of the first three is stopped with ``gnomon daemon
stop``. Its partitions are held by the others within 2 s of the stop (the hand-over's
bound; the figure is printed), and every (job, slot) fired exactly once or has its
``job.skipped`` — no duplicate, no missing slot — and every job still fires at the end.
Skipped with the reason where no PostgreSQL server answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from support.cluster_checks import fired_twice, partitions_by_node, query, slots_covered
from support.daemon_proc import PY, RealDaemon, Result, cli_env, gnomon, until
from support.pgkit import fresh_database

pytestmark = pytest.mark.slow
pytest.importorskip("psycopg")
PER_NODE = 8
HANDOVER = 2.0  # seconds: the bound for a graceful leave


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def start(home: Path, url: str, node: str) -> RealDaemon:
    return RealDaemon.start(
        home, "--store", url, "--cluster", env=cli_env(home, GNOMON_CLUSTER_NODE=node)
    )


def job_file(tmp_path: Path, node: str) -> Path:
    jobs = [{"name": f"{node}-{i}", "every": "1s", "do": "noop"} for i in range(PER_NODE)]
    path = tmp_path / f"{node}.json"
    path.write_text(json.dumps({"jobs": jobs}))
    return path


def shared(url: str, nodes: set[str]) -> bool:
    """``nodes`` hold every partition, none more than its fair share."""
    held = partitions_by_node(url)
    fair = -(-64 // len(nodes))
    return set(held) == nodes and sum(held.values()) == 64 and max(held.values()) <= fair


def firing_since(url: str, since: float) -> int:
    rows = query(
        url,
        "SELECT count(DISTINCT job_id) FROM events WHERE type = 'job.fired' AND ts > %s",
        since,
    )
    return int(rows[0][0])


def hand_over(url: str, home: Path, leaving: str) -> dict[str, float]:
    """``gnomon daemon stop`` on ``home``; seconds until every partition is held by the
    other nodes (the database polled every 10 ms) from: running the command (``command``),
    the daemon starting to stop (``stop``: its ``stop.json`` appears; the command's time
    if it was never seen), and its first partition freed (``freed``)."""
    share = partitions_by_node(url)[leaving]
    stop = subprocess.Popen(
        [PY, "-m", "gnomon.cli", "daemon", "stop"],
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marks = {"command": time.monotonic()}

    def others_hold_all() -> bool:
        held = partitions_by_node(url)
        if "stop" not in marks and (home / "stop.json").exists():
            marks["stop"] = time.monotonic()
        if "freed" not in marks and held.get(leaving, 0) < share:
            marks["freed"] = time.monotonic()
        return leaving not in held and sum(held.values()) == 64

    until(others_hold_all, "the others hold every partition", limit=20, step=0.01)
    done = time.monotonic()
    assert stop.wait(30) == 0
    marks.setdefault("stop", marks["command"])
    return {what: done - at for what, at in marks.items()}


def test_a_fourth_node_joins_and_one_leaves_without_a_duplicate_or_missed_slot(
    tmp_path: Path,
) -> None:
    with fresh_database() as url:
        homes = {n: tmp_path / n for n in ("a", "b", "c", "d")}
        daemons = {"a": start(homes["a"], url, "a")}
        for n in ("b", "c", "d"):
            homes[n].mkdir()
            shutil.copy(homes["a"] / "audit.key", homes[n] / "audit.key")  # one chain
        daemons |= {n: start(homes[n], url, n) for n in ("b", "c")}
        try:
            until(lambda: shared(url, {"a", "b", "c"}), "a, b and c share the partitions")
            for n in ("a", "b", "c"):
                ok(homes[n], "apply", "-f", str(job_file(tmp_path, n)))
            until(lambda: firing_since(url, time.time() - 1.5) == 3 * PER_NODE, "all fire")

            daemons["d"] = start(homes["d"], url, "d")
            even = dict.fromkeys(homes, 16)
            until(lambda: partitions_by_node(url) == even, "d holds its fair share")
            joined = time.time()
            until(lambda: firing_since(url, joined) == 3 * PER_NODE, "all fire after the join")

            took = hand_over(url, homes["b"], "b")
            left = time.time()
            print(
                f"hand-over: the others hold b's partitions {took['command']:.3f}s after"
                f" `daemon stop` was run, {took['stop']:.3f}s after b began to stop,"
                f" {took['freed']:.3f}s after b freed its first"
            )
            assert took["stop"] < HANDOVER
            until(lambda: firing_since(url, left + 1) == 3 * PER_NODE, "all fire after b left")

            assert fired_twice(url) == []  # exactly one job.fired per (job, slot)
            assert slots_covered(url) == []  # every slot fired or has its job.skipped
            assert "hash chain intact" in ok(homes["a"], "audit", "verify").out
        finally:
            for n, home in homes.items():  # shown on failure
                log = home / "daemon.log"
                print(f"--- node {n} log:\n{log.read_text()[-2000:] if log.exists() else ''}")
            for daemon in daemons.values():
                assert daemon.stop() == 0
