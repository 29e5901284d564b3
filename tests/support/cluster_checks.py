"""What the cluster system tests check in the shared tables after the fact: one
``job.fired`` per (job, slot), no slot left out, the partitions each node holds.

Plain reads with psycopg on the test's database; nothing here talks to a daemon.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import psycopg


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """The rows of one statement on a new connection."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def execute(url: str, sql: str, *args: Any) -> None:
    """One statement that returns no rows (DDL, say), committed."""
    with psycopg.connect(url) as conn:
        conn.execute(sql, args)


def fired_twice(url: str) -> list[tuple[str, str, int]]:
    """(job id, slot, count) of every slot with more than one ``job.fired``."""
    rows = query(
        url,
        "SELECT job_id, event::jsonb->'payload'->>'fire_time' AS slot, count(*) FROM events"
        " WHERE type = 'job.fired' GROUP BY job_id, slot HAVING count(*) > 1",
    )
    return [(str(j), str(s), int(n)) for j, s, n in rows]


def fired_count(url: str) -> int:
    """How many ``job.fired`` events there are."""
    return int(query(url, "SELECT count(*) FROM events WHERE type = 'job.fired'")[0][0])


def slots_covered(url: str, step: float = 1.0) -> list[str]:
    """Jobs with a slot between their first and last fire (every ``step`` seconds) that
    neither fired nor was recorded skipped (a skip with ``until`` covers every slot
    before it); empty when none is missing."""
    rows = query(
        url,
        "SELECT job_id, type, event::jsonb->'payload' FROM events"
        " WHERE type IN ('job.fired', 'job.skipped')",
    )
    seen: dict[str, set[datetime]] = defaultdict(set)
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for job_id, _type, payload in rows:
        if payload.get("fire_time"):
            at = datetime.fromisoformat(payload["fire_time"])
            seen[job_id].add(at)
            if payload.get("until"):
                spans[job_id].append((at, datetime.fromisoformat(payload["until"])))
    gap, holes = timedelta(seconds=step), []
    for job_id, slots in seen.items():
        for a, b in itertools.pairwise(sorted(slots)):
            if b - a > gap and not any(s <= a + gap and b <= u for s, u in spans[job_id]):
                holes.append(f"{job_id}: {a.isoformat()} → {b.isoformat()}")
    return holes


def partitions_by_node(url: str) -> dict[str, int]:
    """Partitions held per node name (owners only; free partitions are not counted)."""
    rows = query(
        url,
        "SELECT n.node, count(*) FROM cluster_partitions p"
        " JOIN cluster_nodes n ON n.boot_id = p.owner_boot GROUP BY n.node",
    )
    return {str(node): int(n) for node, n in rows}


def epochs(url: str) -> dict[int, int]:
    """Each partition's epoch (every take of a partition adds one)."""
    return {int(p): int(e) for p, e in query(url, "SELECT p, epoch FROM cluster_partitions")}


def moved_more_than_once(before: dict[int, int], after: dict[int, int]) -> dict[int, int]:
    """Partitions taken more than once between two readings of :func:`epochs`, with how
    many times (empty when each was taken at most once)."""
    return {p: after[p] - e for p, e in before.items() if after[p] - e > 1}
