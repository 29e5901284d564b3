"""What is global in a cluster (docs/cluster.md), with two real daemons on a real
PostgreSQL: a live name is unique across nodes, any node finds any job by id, name or id
prefix, and a command for a job owned by the other node goes to that node through the
command table, takes effect there once, and is answered. Skipped with the reason where no
PostgreSQL server answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, cli_env, gnomon, until
from support.pgkit import fresh_database

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip("psycopg")

from support.cluster_pair import Pair, ok, query  # noqa: E402

from gnomon.client import Client, job_spec  # noqa: E402
from gnomon.runtime.cluster.commands import CATCH_UP  # noqa: E402


def test_a_live_name_is_unique_across_nodes_and_free_again_once_it_ends(pair: Pair) -> None:
    ok(pair.a_home, "schedule", "x", "--every", "1h", "--do", "noop")
    clash = gnomon(pair.b_home, "schedule", "x", "--every", "1h", "--do", "noop")
    assert clash.code == 2, clash.err
    assert "a live job is already named 'x'" in clash.err
    assert "node-a" in clash.err
    assert query(pair.url, "SELECT count(*) FROM jobs WHERE name = 'x'") == [(1,)]
    replaced = ok(pair.b_home, "schedule", "x", "--every", "2h", "--do", "noop", "--replace")
    [(job_id, state)] = query(pair.url, "SELECT id, state FROM jobs WHERE name = 'x'")
    assert f"job {job_id} saved (x)" in replaced.out  # in place on node-a: same id
    assert "7200" in state
    types = query(pair.url, "SELECT type FROM events WHERE job_id = %s ORDER BY seq", job_id)
    assert [t[0] for t in types] == ["job.created", "job.updated"]

    ok(pair.a_home, "jobs", "cancel", "x")
    ok(pair.b_home, "schedule", "x", "--every", "1h", "--do", "noop")  # the name is free
    rows = query(pair.url, "SELECT status FROM jobs WHERE name = 'x' ORDER BY rowid")
    assert [r[0] for r in rows] == ["cancelled", "pending"]


def events_of(url: str, job_id: str) -> list[str]:
    rows = query(url, "SELECT type FROM events WHERE job_id = %s ORDER BY seq", job_id)
    return [str(r[0]) for r in rows]


def test_any_node_finds_and_operates_a_job_the_other_node_owns(pair: Pair) -> None:
    created = ok(pair.a_home, "schedule", "x", "--every", "1h", "--do", "noop", "--json")
    job_id = created.json()["id"]
    for ref in ("x", job_id, job_id[:6]):
        assert ok(pair.b_home, "jobs", "show", ref, "--json").json()["id"] == job_id
    ok(pair.b_home, "jobs", "logs", "x")

    paused = ok(pair.b_home, "jobs", "pause", "x", "--json").json()
    assert [j["status"] for j in paused["jobs"]] == ["paused"]
    assert pair.status("x") == "paused"
    again = gnomon(pair.b_home, "jobs", "pause", "x")
    assert again.code == 2, again.err  # the owner's refusal, as on one node
    ok(pair.b_home, "jobs", "resume", job_id[:6])
    assert pair.status("x") == "pending"
    ok(pair.b_home, "jobs", "run", "x")
    until(lambda: "job.fired" in events_of(pair.url, job_id), "x fires on node-a")
    ok(pair.b_home, "jobs", "cancel", "x")
    assert pair.status("x") == "cancelled"

    seen = events_of(pair.url, job_id)
    assert seen.count("job.paused") == 1
    assert seen.count("job.resumed") == 1
    assert seen.count("job.fired") == 1
    assert seen.count("job.cancelled") == 1
    rows = query(
        pair.url,
        "SELECT c.command, n.node, c.result IS NOT NULL FROM cluster_commands c"
        " JOIN cluster_nodes n ON n.boot_id = c.claimed_boot ORDER BY c.id",
    )
    assert [r[0] for r in rows] == ["pause", "pause", "resume", "run_now", "cancel"]
    assert {r[1] for r in rows} == {"node-a"}
    assert all(r[2] for r in rows)

    ok(pair.b_home, "jobs", "clear", "--cancelled", "--yes")  # deleted by node-a
    assert query(pair.url, "SELECT count(*) FROM jobs WHERE id = %s", job_id) == [(0,)]


def test_max_jobs_counts_the_live_jobs_of_every_node(tmp_path: Path) -> None:
    with fresh_database() as url:
        pair = Pair(tmp_path, url, "[limits]\nmax_jobs = 3\n")
        try:
            for name in ("j1", "j2"):
                ok(pair.a_home, "schedule", name, "--every", "1h", "--do", "noop")
            ok(pair.b_home, "schedule", "j3", "--every", "1h", "--do", "noop")

            def refuses_a_fourth() -> bool:
                """node-b counts the cluster's live jobs every CATCH_UP seconds: until it
                has counted node-a's, it may admit j4 (taken back, tried again)."""
                full = gnomon(pair.b_home, "schedule", "j4", "--every", "1h", "--do", "noop")
                if full.code == 0:
                    ok(pair.b_home, "jobs", "cancel", "j4")
                    return False
                assert full.code == 4, full.err
                assert "maximum of 3 live jobs" in full.err
                return True

            until(refuses_a_fourth, "node-b counts node-a's jobs", step=CATCH_UP)
            ok(pair.b_home, "jobs", "cancel", "j1")  # on node-a, through node-b

            def admits_j4() -> bool:  # once node-b counted again: j1 is no longer live
                made = gnomon(pair.b_home, "schedule", "j4", "--every", "1h", "--do", "noop")
                assert made.code in (0, 4), made.err
                return made.code == 0

            until(admits_j4, "node-b counts j1 as gone", step=CATCH_UP)
        finally:
            pair.stop()


def test_a_job_depends_on_a_job_of_the_other_node(pair: Pair) -> None:
    ok(pair.a_home, "schedule", "done-first", "--in", "1s", "--do", "noop")
    until(lambda: pair.status("done-first") == "completed", "done-first completes on node-a")
    # build is due only once deploy is known to wait for it (a CLI call can take seconds
    # under load: a slot a few seconds ahead could pass before deploy is created)
    ok(pair.a_home, "schedule", "build", "--in", "1h", "--do", "noop")
    ok(pair.b_home, "schedule", "deploy", "--depends-on", "build", "--do", "noop")
    assert pair.status("deploy") == "blocked"
    ok(pair.a_home, "schedule", "build", "--in", "1s", "--do", "noop", "--replace")
    ok(pair.b_home, "schedule", "late", "--depends-on", "done-first", "--do", "noop")
    until(lambda: pair.status("late") == "completed", "late runs at once: done-first ended")
    until(lambda: pair.status("build") == "completed", "build completes on node-a")
    until(lambda: pair.status("deploy") == "completed", "deploy runs on node-b after build")
    shown = ok(pair.b_home, "jobs", "show", "deploy", "--json").json()
    assert shown["depends_on"] == ["build"]
    told = query(
        pair.url,
        "SELECT c.job_id, n.node FROM cluster_commands c"
        " JOIN cluster_nodes n ON n.boot_id = c.claimed_boot WHERE c.command = 'dependency_ended'",
    )
    assert told == [(shown["id"], "node-b")]  # node-a told node-b, through the command table


def test_events_and_backfill_of_a_job_the_other_node_owns(pair: Pair) -> None:
    job_id = ok(
        pair.a_home, "schedule", "daily", "--calendar", "*-*-* 06:00", "--tz", "UTC",
        "--do", "noop", "--json",
    ).json()["id"]  # fmt: skip
    listed = ok(pair.b_home, "events", "--job", "daily", "--json").out.splitlines()
    assert [e["type"] for e in map(json.loads, listed)][:1] == ["job.created"]
    span = ("--from", "2026-11-01T00:00Z", "--to", "2026-11-03T23:59Z")
    first = ok(pair.b_home, "jobs", "backfill", "daily", *span)
    assert first.out.strip().endswith("✔ 3 slot(s) fired"), first.out
    again = ok(pair.b_home, "jobs", "backfill", "daily", *span)
    assert again.out.strip().endswith("✔ 0 slot(s) fired"), again.out
    runs = query(pair.url, "SELECT count(*) FROM runs WHERE job_id = %s", job_id)
    assert runs == [(3,)]
    fired_by = query(
        pair.url,
        "SELECT n.node FROM cluster_commands c"
        " JOIN cluster_nodes n ON n.boot_id = c.claimed_boot WHERE c.command = 'backfill'",
    )
    assert [r[0] for r in fired_by] == ["node-a"] * 3  # node-b sent each slot to the owner


def test_a_node_just_joined_creates_once_it_holds_partitions(tmp_path: Path) -> None:
    """node-b answers before it holds a partition (node-a gives half back first): a create
    through it waits for its partitions instead of being refused by the fence."""
    with fresh_database() as url:
        a_home, b_home = tmp_path / "a", tmp_path / "b"
        a = RealDaemon.start(a_home, "--store", url, "--cluster",
                             env=cli_env(a_home, GNOMON_CLUSTER_NODE="node-a"))  # fmt: skip
        b_home.mkdir()
        shutil.copy(a_home / "audit.key", b_home / "audit.key")
        b = RealDaemon.start(b_home, "--store", url, "--cluster",
                             env=cli_env(b_home, GNOMON_CLUSTER_NODE="node-b"))  # fmt: skip
        try:
            client = Client(b.url, token=b.token)  # in this process: at once, no CLI start
            made = [
                client.create(job_spec(f"early-{i}", when="every 1h", do="noop")) for i in range(3)
            ]
            rows = query(url, "SELECT name FROM jobs WHERE id = ANY(%s)", [j.id for j in made])
            assert sorted(r[0] for r in rows) == ["early-0", "early-1", "early-2"]
        finally:
            a.kill()
            b.kill()
