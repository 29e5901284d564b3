"""W1 and W2 on real daemons clustered on one PostgreSQL, 1, 2 and 3 nodes side by side.

``python -m bench.cluster [--nodes 1,2,3] [--n N] [--n2 N2] [--runs K] [--quick] [--json]``
runs them in one go, with a lone SQLite daemon as the baseline (docs/performance.md,
"PostgreSQL cluster: 1, 2 and 3 nodes").

Per configuration: a fresh database on ``--server`` (dropped afterwards) and fresh homes;
the daemons (subprocesses, ``gnomon daemon start --store URL --cluster``, bench/
cluster_nodes.py) started, then a wait until the 64 partitions are split evenly.

- W1: ``N`` one-shot ``noop`` jobs all due at one slot, created before it through the
  nodes (specs dealt round-robin; ``job.create_many``, ``--batch`` specs per call, 2
  calls in flight per node; a node owns the jobs created on it). The slot lies ``--lead`` s plus
  ``N / --create-rate`` s after the start of creation; the report says whether creation
  ended before it.
- W2: ``N2`` jobs, each due once at its own instant, spread evenly over ``--spread`` s
  (5 s), created the same way first.

Everything is read from the store afterwards: a fire's lateness is its ``job.fired``
event's timestamp (the moment the owning engine fired it) minus the slot in its payload;
``fires.claimed_ts`` (taken inside the committing transaction) says when the claims were
durable. ``--runs K`` repeats every configuration K times (in rounds) and the table shows
each number's median. A benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from bench import cluster_nodes as cn
from bench.cluster_report import lateness, median_of, spread_metrics, storm_metrics, table
from bench.common import now
from bench.pg import fresh_pg
from bench.wl_daemon import cpu_seconds
from gnomon.client.aio import AsyncClient
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import OnceSchedule
from gnomon.runtime.protocol_names import JOB_CREATE_MANY

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = 2  # create_many calls in flight per node


def specs(prefix: str, slots: list[float]) -> list[dict[str, Any]]:
    """Wire specs of one-shot noop jobs ``prefix-<i>`` due at ``slots[i]``."""
    return [
        dict(
            wire.unstructure(
                JobSpec(
                    name=f"{prefix}-{i}",
                    schedule=OnceSchedule(at=datetime.fromtimestamp(at, UTC)),
                    action=NoopAction(),
                )
            )
        )
        for i, at in enumerate(slots)
    ]


async def create(nodes: list[cn.Node], all_specs: list[dict[str, Any]], batch: int) -> float:
    """Create ``all_specs``, dealt round-robin to the nodes, in calls of up to ``batch``
    per node; seconds.

    Raises:
        RuntimeError: a call created fewer jobs than it sent (its answer attached).
    """

    async def feed(node: cn.Node, mine: list[dict[str, Any]]) -> None:
        pending = iter(mine[i : i + batch] for i in range(0, len(mine), batch))
        async with AsyncClient.connect(node.url, token=node.token, home=str(node.home)) as c:

            async def worker() -> None:
                for chunk in pending:
                    answer = await c.conn.call(JOB_CREATE_MANY, {"specs": chunk})
                    if answer["created"] != len(chunk):
                        raise RuntimeError(f"{node.name}: {str(answer)[:600]}")

            async with trio.open_nursery() as workers:
                for _ in range(PIPELINE):
                    workers.start_soon(worker)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for k, node in enumerate(nodes):
            nursery.start_soon(feed, node, all_specs[k :: len(nodes)])
    return time.perf_counter() - started


def wait_claimed(reader: cn.Reader, since: float, n: int, deadline: float) -> None:
    """Poll until ``n`` slots were claimed after ``since``, then until no run is open
    (or ``deadline`` passes: the metrics then show what fired)."""
    while now() < deadline and reader.one(cn.claims_since(since, "count(*)")) < n:
        time.sleep(0.2)
    while now() < deadline and reader.one("SELECT count(*) FROM runs WHERE finished_ts IS NULL"):
        time.sleep(0.2)


def workload(
    a: argparse.Namespace,
    nodes: list[cn.Node],
    reader: cn.Reader,
    prefix: str,
    offsets: list[float],
) -> tuple[dict[str, Any], list[tuple[float, str]], list[tuple[float, str]], list[str]]:
    """Create jobs due at ``start + offsets[i]`` and wait for them to fire and finish; the
    record (creation; the daemons' CPU from creation's end until all finished, the wait
    for the slot included) and the rows of the fires (``job.fired`` time, slot), the
    claims (commit time, slot) and the claimed job ids."""
    seq0 = int(reader.one("SELECT coalesce(max(seq), 0) FROM events"))
    t0 = now()
    start = t0 + a.lead + len(offsets) / a.create_rate
    slots = [start + off for off in offsets]
    secs = trio.run(create, nodes, specs(prefix, slots), a.batch)
    created, cpu0 = now(), sum(cpu_seconds(node.proc.pid) for node in nodes)
    wait_claimed(reader, t0, len(offsets), slots[-1] + a.timeout)
    cpu = sum(cpu_seconds(node.proc.pid) for node in nodes) - cpu0
    events = reader.rows(f"SELECT ts, event FROM events WHERE type = 'job.fired' AND seq > {seq0}")
    fired = [(float(ts), json.loads(ev)["payload"]["fire_time"]) for ts, ev in events]
    claims = reader.rows(cn.claims_since(t0, "claimed_ts, fire_time, job_id"))
    record = {
        "n": len(offsets),
        "create_s": secs,
        "creates_per_s": len(offsets) / secs,
        "created_before_due": created < slots[0],
        "created_lead_s": slots[0] - created,
        "first_slot": slots[0],
        "daemon_cpu_s": cpu,
        "cpu_us_per_fire": 1e6 * cpu / max(1, len(claims)),
    }
    return record, fired, [(float(c), s) for c, s, _ in claims], [j for _, _, j in claims]


def configuration(a: argparse.Namespace, root: Path, key: str, count: int) -> dict[str, Any]:
    """One configuration (``sqlite`` or ``pg-<count>``) from start to stop."""
    load_start = os.getloadavg()[0]
    with ExitStack() as stack:
        url = stack.enter_context(fresh_pg(a.server)) if key != "sqlite" else None
        nodes = stack.enter_context(cn.daemons(root / key, count, url))
        reader = cn.Reader(url or str(nodes[0].home / "gnomon.db"))
        stack.callback(reader.close)
        held, split_s = cn.wait_even(reader, count) if url else ({}, 0.0)
        base, fired, claims, ids = workload(a, nodes, reader, "w1", [0.0] * a.n)
        w1 = storm_metrics(base["first_slot"], [t for t, _ in fired], [t for t, _ in claims], a.n)
        w1.update(base, per_node=cn.per_node(ids, cn.owners(reader)) if url else {})
        offsets = [a.spread * i / a.n2 for i in range(a.n2)]
        base2, fired2, claims2, _ = workload(a, nodes, reader, "w2", offsets)
        w2 = {**base2, **spread_metrics(lateness(fired2), lateness(claims2), a.n2)}
    return {
        "nodes": count,
        "store": "sqlite" if url is None else "postgresql",
        "split": held,
        "split_s": split_s,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "w1": w1,
        "w2": w2,
    }


def commit() -> str:
    """The checkout's commit when the run starts."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--nodes", default="1,2,3", help="node counts on PostgreSQL (default 1,2,3)")
    p.add_argument("--n", type=int, default=5000, help="W1: jobs due at one instant")
    p.add_argument("--n2", type=int, default=2000, help="W2: jobs spread over --spread s")
    p.add_argument("--spread", type=float, default=5.0, help="W2: seconds the slots span")
    p.add_argument("--lead", type=float, default=6.0, help="s from creation's end to a slot")
    p.add_argument("--create-rate", type=float, default=800.0, help="creates/s assumed")
    p.add_argument("--batch", type=int, default=500, help="specs per job.create_many")
    p.add_argument("--timeout", type=float, default=120.0, help="s after the last slot")
    p.add_argument("--no-sqlite", action="store_true", help="skip the SQLite baseline")
    p.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--runs", type=int, default=1, help="rounds; the table shows medians")
    p.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    p.add_argument("--json", action="store_true", help="one JSON object (else the table)")
    a = p.parse_args()
    if a.quick:
        a.n, a.n2, a.spread, a.lead, a.timeout = 200, 100, 1.5, 1.5, 30.0
    return a


def main() -> None:
    a = arguments()
    head = {"commit": commit(), "n": a.n, "n2": a.n2, "spread_s": a.spread, "runs": a.runs}
    counts = [int(c) for c in a.nodes.split(",") if c]
    keys = ([] if a.no_sqlite else [("sqlite", 1)]) + [(f"pg-{c}", c) for c in counts]
    runs: list[dict[str, Any]] = []
    for run in range(a.runs):  # rounds: every configuration once per round
        runs.append({})
        with tempfile.TemporaryDirectory(prefix="gnomon-bench-cluster-") as tmp:
            for key, count in keys:
                runs[-1][key] = configuration(a, Path(tmp), key, count)
                if not a.json:
                    print(f"bench.cluster: round {run + 1}, {key} done", flush=True)
    results = median_of(runs)
    if a.json:
        out = {**head, "results": results, "table": table(results), "each_run": runs}
        print(json.dumps(out, indent=2))
        return
    print(json.dumps(head))
    print(table(results))


if __name__ == "__main__":
    main()
