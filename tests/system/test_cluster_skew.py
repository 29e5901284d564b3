"""A node whose clock is 30 s fast fires nothing early (docs/cluster.md, "The database
clock"): two real daemons with ``--cluster``, node ``a`` under libfaketime (``FAKETIME=
+30s``: its ``time.time()`` runs 30 s ahead; its monotonic clock is left alone), node
``b`` normal. Jobs every second and a one-shot ``--at`` a few seconds ahead are created
on each. The test adds a column to ``fires`` defaulting to the database's ``now()``
(the start of the claiming transaction): every claimed slot must be no later than the
database time of its claim. Skipped with the reason where libfaketime is not installed
(``apt-get install faketime``) or where no PostgreSQL server answers.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from support.cluster_checks import execute, fired_twice, partitions_by_node, query
from support.daemon_proc import PY, RealDaemon, Result, cli_env, gnomon, until
from support.pgkit import fresh_database

pytestmark = pytest.mark.slow
pytest.importorskip("psycopg")
SKEW = 30.0
#: how far a slot may follow the start of its claiming transaction: the DbClock's error
#: (half a localhost round trip) — a node that fired by its own clock is 30 s off
TOLERANCE = 0.25


def faketime_env() -> dict[str, str]:
    """The environment that puts a process 30 s ahead; skips when libfaketime is missing
    or does not take effect on Python here."""
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not libs:
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    env = {"LD_PRELOAD": libs[0], "FAKETIME": f"+{SKEW:.0f}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    probe = subprocess.run(
        [PY, "-c", "import time; print(time.time())"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    ahead = float(probe.stdout or 0) - time.time()
    if probe.returncode != 0 or abs(ahead - SKEW) > 5:
        pytest.skip(f"libfaketime does not shift Python's clock here (ahead {ahead:.1f}s)")
    return env


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def fires_on(daemon: RealDaemon) -> float:
    """``gnomon_jobs_fired_total`` summed over its labels (this node's fires)."""
    text = httpx.get(daemon.http + "/metrics", timeout=60).text  # a liveness bound only
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("gnomon_jobs_fired_total")
    )


EVERY_JOB = {"a-every", "a-at", "b-every", "b-at"}


def fired_names(url: str) -> set[str]:
    """The names of the jobs with a claimed slot."""
    rows = query(url, "SELECT DISTINCT j.name FROM fires f JOIN jobs j ON j.id = f.job_id")
    return {str(r[0]) for r in rows}


def db_now(url: str) -> datetime:
    return query(url, "SELECT clock_timestamp()")[0][0].astimezone(UTC)


def early_claims(url: str) -> tuple[list[str], float]:
    """Claims whose slot is later than the database time of the claim (beyond the
    tolerance), and the largest ``slot - claim time`` seen."""
    rows = query(
        url, "SELECT j.name, f.fire_time, f.db_now FROM fires f JOIN jobs j ON j.id = f.job_id"
    )
    early, worst = [], float("-inf")
    for name, slot, claimed in rows:
        ahead = datetime.fromisoformat(slot).timestamp() - float(claimed)
        worst = max(worst, ahead)
        if ahead > TOLERANCE:
            early.append(f"{name}: slot {slot} claimed {ahead:.3f}s before it (database clock)")
    return early, worst


def test_a_node_30s_fast_fires_no_slot_before_its_time_by_the_database_clock(
    tmp_path: Path,
) -> None:
    skewed = faketime_env()
    with fresh_database() as url:
        homes = {n: tmp_path / n for n in ("a", "b")}
        env_a = cli_env(homes["a"], GNOMON_CLUSTER_NODE="a", **skewed)
        daemons = {"a": RealDaemon.start(homes["a"], "--store", url, "--cluster", env=env_a)}
        homes["b"].mkdir()
        shutil.copy(homes["a"] / "audit.key", homes["b"] / "audit.key")  # one chain, one key
        env_b = cli_env(homes["b"], GNOMON_CLUSTER_NODE="b")
        daemons["b"] = RealDaemon.start(homes["b"], "--store", url, "--cluster", env=env_b)
        try:
            execute(  # the database's time of each claim, beside the node's claim
                url,
                "ALTER TABLE fires ADD COLUMN db_now DOUBLE PRECISION"
                " DEFAULT extract(epoch FROM now())",
            )
            until(lambda: partitions_by_node(url) == {"a": 32, "b": 32}, "an even split")
            at = (db_now(url) + timedelta(seconds=4)).replace(microsecond=0)
            for n, home in homes.items():
                ok(home, "schedule", f"{n}-every", "--every", "1s", "--do", "noop")
                ok(home, "schedule", f"{n}-at", "--at", at.isoformat(), "--do", "noop")
            until(lambda: db_now(url) > at, "the one-shot slot passes")
            # each node fires its jobs when it gets the CPU (not within a fixed time of the
            # slot under load); nothing early is the assertion, never how late
            until(lambda: fired_names(url) == EVERY_JOB, "every job fired", limit=120)
            until(lambda: fires_on(daemons["a"]) >= 3, "node a fired its own jobs", limit=120)
            assert fired_names(url) == EVERY_JOB
            assert fires_on(daemons["a"]) >= 3  # the skewed node fired its own jobs

            early, worst = early_claims(url)
            print(f"largest slot - claim time (database clock): {worst:.3f}s")
            assert early == []
            assert fired_twice(url) == []
        finally:
            for n, home in homes.items():  # shown on failure
                print(f"--- node {n} log:\n{(home / 'daemon.log').read_text()[-2000:]}")
            for daemon in daemons.values():
                assert daemon.stop() == 0
