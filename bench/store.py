"""Store benchmark: commits/s (one unit per transaction, and group-committed), slot claims,
event append and replay, database bytes per 10k events, boot index of many jobs, the
store thread's CPU per unit of a fire, and the urgent lane's latency under a flood.

Run from the repository root: ``python -m bench.store [--single 2000] [--grouped 20000]
[--claims 20000] [--events 50000] [--jobs 10000] [--transitions 16] [--sync normal|full] [--json]
[--only units,lanes]``.
A benchmark, not a test: it prints a table (or JSON); nothing asserts. Everything but
``units`` runs through the daemon's own path — :class:`SqliteStore` with its
worker-thread executor and writer actor, on a file in a temporary directory, WAL mode;
``units`` calls ``sql.commit_batch`` directly (what the worker thread runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from bench.pg import fresh_pg, open_store
from bench.store_units import OWNER, T0, bench_lanes, bench_units, job
from gnomon.runtime import Supervisor
from gnomon.runtime.event_bus import EventBus, Lagged
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.store import Changes, FireAlreadyClaimed
from gnomon.runtime.store.sqlite import SqliteStore

CONCURRENCY = 256  # committers at once in the grouped runs (the writer's MAX_BATCH)


def fired(job_id: str, slot: datetime, cycle: int) -> EventDraft:
    """A realistic event: ``job.fired`` with its slot in the payload."""
    return EventDraft(
        type=EventType.JOB_FIRED,
        timestamp=slot,
        job_id=job_id,
        name=f"bench-{job_id}",
        owner=str(OWNER),
        status=JobStatus.RUNNING,
        message=f"fire {cycle}: slot {slot.isoformat()}",
        payload={"fire_time": slot.isoformat(), "cycle": cycle},
    )


async def with_store(
    path: Path,
    sync: str,
    body: Callable[[SqliteStore, Path], Awaitable[dict[str, float]]],
    pg: str = "",
) -> dict[str, float]:
    """Run ``body`` against a store whose writer runs under a supervisor; close it after.
    ``pg``: a PostgreSQL server URL — the store is then a fresh database there."""
    if pg:
        with fresh_pg(pg) as url:
            store: Any = open_store(url)
            return await _with(store, path, body)
    return await _with(SqliteStore(str(path), synchronous=sync.upper()), path, body)


async def _with(
    store: SqliteStore, path: Path, body: Callable[[SqliteStore, Path], Awaitable[dict[str, float]]]
) -> dict[str, float]:
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(Supervisor("infra", children=[store.writer_spec()]).run)
            await store.begin_boot("bench", T0)
            result = await body(store, path)
            nursery.cancel_scope.cancel()
        return result
    finally:
        store.close()


async def concurrently(count: int, unit: Callable[[int], Changes], store: SqliteStore) -> float:
    """Commit ``count`` units from ``CONCURRENCY`` tasks at once; seconds taken."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await store.commit(unit(i))

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(CONCURRENCY):
            nursery.start_soon(worker)
    return time.perf_counter() - started


def created(i: int) -> Changes:
    state = job(i)
    draft = EventDraft(type=EventType.JOB_CREATED, timestamp=T0, job_id=state.id)
    return Changes(jobs=(state,), events=(draft,))


async def bench_commits(store: SqliteStore, single: int, grouped: int) -> dict[str, float]:
    started = time.perf_counter()
    for i in range(single):
        await store.commit(created(i))
    single_s = time.perf_counter() - started
    before = store.transactions
    grouped_s = await concurrently(grouped, lambda i: created(single + i), store)
    return {
        "single_commits_per_s": single / single_s,
        "grouped_commits_per_s": grouped / grouped_s,
        "grouped_units_per_txn": grouped / max(1, store.transactions - before),
    }


async def bench_claims(store: SqliteStore, claims: int) -> dict[str, float]:
    jobs = 100

    def claim(i: int) -> Changes:
        job_id, cycle = f"{i % jobs:016x}", i // jobs
        slot = T0 + timedelta(minutes=cycle)
        return Changes(claims=((job_id, slot),), events=(fired(job_id, slot, cycle),))

    seconds = await concurrently(claims, claim, store)
    refused = 0
    started = time.perf_counter()
    for i in range(1000):  # the same slots again: each must be refused
        try:
            await store.commit(claim(i))
        except FireAlreadyClaimed:
            refused += 1
    dup_s = time.perf_counter() - started
    return {
        "claims_per_s": claims / seconds,
        "duplicate_refusals_per_s": refused / dup_s,
        "duplicates_refused": refused,
    }


async def bench_events(store: SqliteStore, path: Path, count: int) -> dict[str, float]:
    checkpoint(path)
    size_before = db_bytes(path)
    first = await store.last_seq()

    def append(i: int) -> Changes:
        slot = T0 + timedelta(minutes=i)
        return Changes(events=(fired(f"{i % 1000:016x}", slot, i),))

    append_s = await concurrently(count, append, store)
    checkpoint(path)
    grown = db_bytes(path) - size_before
    bus = EventBus(store.events)
    seen = 0
    started = time.perf_counter()
    async with bus.subscribe(since_seq=first) as stream:
        async for item in stream:
            assert not isinstance(item, Lagged)
            seen += 1
            if seen == count:
                break
    replay_s = time.perf_counter() - started
    return {
        "event_appends_per_s": count / append_s,
        "event_replay_per_s": count / replay_s,
        "bytes_per_10k_events": grown / count * 10_000,
    }


async def bench_index(store: SqliteStore, jobs: int) -> dict[str, float]:
    states = [job(1_000_000 + i) for i in range(jobs)]
    started = time.perf_counter()
    for start in range(0, jobs, 1000):  # bulk load: 1000 jobs per unit
        await store.commit(Changes(jobs=tuple(states[start : start + 1000])))
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    rows = await store.job_index()
    return {
        "bulk_jobs_per_s": jobs / load_s,
        "index_jobs": len(rows),
        "index_s": time.perf_counter() - started,
    }


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def run_all(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        + (f"PostgreSQL at {args.store}" if args.store else f"synchronous={args.sync}"),
    }
    bodies: dict[str, Callable[[SqliteStore, Path], Awaitable[dict[str, float]]]] = {
        "commits": lambda s, p: bench_commits(s, args.single, args.grouped),
        "claims": lambda s, p: bench_claims(s, args.claims),
        "events": lambda s, p: bench_events(s, p, args.events),
        "index": lambda s, p: bench_index(s, args.jobs),
        "lanes": lambda s, p: bench_lanes(s, args.flood, args.urgent),
    }
    only = set(args.only.split(",")) if args.only else {*bodies, "units"}
    if "units" in only:
        report["transitions"] = args.transitions
        report.update(bench_units(folder / "units.db", args.transitions))
    for name, body in bodies.items():
        if name in only:
            report.update(await with_store(folder / f"{name}.db", args.sync, body, args.store))
    return report


# (key that shows the section ran, label, value) for each row of the table
ROWS: list[tuple[str, str, str]] = [
    ("single_commits_per_s", "commits/s, one unit per transaction", "{single_commits_per_s:,.0f}"),
    ("grouped_commits_per_s", "commits/s, grouped",
     "{grouped_commits_per_s:,.0f} ({grouped_units_per_txn:.0f} units/txn)"),
    ("bulk_jobs_per_s", "job inserts/s, 1000 jobs per unit", "{bulk_jobs_per_s:,.0f}"),
    ("claims_per_s", "slot claims/s (claim + job.fired)", "{claims_per_s:,.0f}"),
    ("duplicates_refused", "duplicate claims refused/s",
     "{duplicate_refusals_per_s:,.0f} ({duplicates_refused} of 1000)"),
    ("event_appends_per_s", "event appends/s", "{event_appends_per_s:,.0f}"),
    ("event_replay_per_s", "event replay/s (bus, since_seq)", "{event_replay_per_s:,.0f}"),
    ("bytes_per_10k_events", "database bytes per 10k events", "{mib_per_10k_events:.2f} MiB"),
    ("index_jobs", "boot index of {index_jobs:,} jobs", "{index_ms:.0f} ms"),
    ("fire_unit_us", "store thread per fire unit ({transitions} transitions)",
     "{fire_unit_us:.0f} µs"),
    ("end_unit_us", "store thread per end unit ({transitions} transitions)",
     "{end_unit_us:.0f} µs"),
    ("held_fire_unit_us", "… the same, spec and transitions objects reused (a held job)",
     "{held_fire_unit_us:.0f} µs"),
    ("held_end_unit_us", "… end unit, spec and transitions objects reused (a held job)",
     "{held_end_unit_us:.0f} µs"),
] + [
    (f"{m}_p50_ms", f"end unit under a flood, {m}",
     f"p50 {{{m}_p50_ms:.1f}} ms, p99 {{{m}_p99_ms:.1f}} ms, "
     f"flood {{{m}_ordinary_per_s:,.0f}} units/s")
    for m in ("fifo", "urgent64", "urgent128", "urgent256")
]  # fmt: skip


def table(r: dict[str, Any]) -> list[tuple[str, str]]:
    values = dict(r)
    if "bytes_per_10k_events" in r:
        values["mib_per_10k_events"] = r["bytes_per_10k_events"] / 2**20
    if "index_s" in r:
        values["index_ms"] = r["index_s"] * 1000
    return [(k.format(**values), v.format(**values)) for key, k, v in ROWS if key in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--grouped", type=int, default=20000)
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--transitions", type=int, default=16, help="per job state (units)")
    parser.add_argument("--flood", type=int, default=2000, help="ordinary committers (lanes)")
    parser.add_argument("--urgent", type=int, default=300, help="probe commits (lanes)")
    parser.add_argument("--only", default="", help="comma-separated sections to run")
    parser.add_argument("--sync", choices=("normal", "full"), default="normal")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--store", default="", help="PostgreSQL server URL: each section on a fresh database"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gnomon-bench-") as folder:
        report = trio.run(run_all, args, Path(folder))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"machine: {report['machine']}")
    rows = table(report)
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  result")
    print(f"{'-' * width}  ------")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
