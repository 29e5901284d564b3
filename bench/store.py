"""Store benchmark: commits/s (one unit per transaction, and group-committed), slot claims,
event append and replay, database bytes per 10k events, boot index of many jobs.

Run: ``python bench/store.py [--single 2000] [--grouped 20000] [--claims 20000]
[--events 50000] [--jobs 10000] [--sync normal|full] [--json]``.
A benchmark, not a test: it prints a table (or JSON); nothing asserts. Everything runs
through the daemon's own path — :class:`SqliteStore` with its worker-thread executor and
writer actor, on a file in a temporary directory, WAL mode.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from gnomon.runtime import Supervisor
from gnomon.runtime.events import EventBus, Lagged
from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.enums import JobStatus, OwnerKind
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store import Changes, FireAlreadyClaimed
from gnomon.runtime.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
OWNER = Owner(kind=OwnerKind.USER, id="bench")
CONCURRENCY = 256  # committers at once in the grouped runs (the writer's MAX_BATCH)


def job(i: int) -> JobState:
    """A realistic job row: an every-minute shell job with tags."""
    spec = JobSpec(
        name=f"bench-{i}",
        schedule=IntervalSchedule(every=60.0, anchor=T0),
        action=ShellAction(command=f"./backup.sh --target host-{i}"),
        tags={"env": "prod", "team": "infra"},
    )
    return JobState(
        id=f"{i:016x}",
        spec=spec,
        owner=OWNER,
        created_at=T0,
        updated_at=T0,
        status=JobStatus.PENDING,
        next_fire_at=T0 + timedelta(seconds=60),
    )


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
    path: Path, sync: str, body: Callable[[SqliteStore, Path], Awaitable[dict[str, float]]]
) -> dict[str, float]:
    """Run ``body`` against a store whose writer runs under a supervisor; close it after."""
    store = SqliteStore(str(path), synchronous=sync.upper())
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
        f"synchronous={args.sync}",
    }
    bodies: dict[str, Callable[[SqliteStore, Path], Awaitable[dict[str, float]]]] = {
        "commits": lambda s, p: bench_commits(s, args.single, args.grouped),
        "claims": lambda s, p: bench_claims(s, args.claims),
        "events": lambda s, p: bench_events(s, p, args.events),
        "index": lambda s, p: bench_index(s, args.jobs),
    }
    for name, body in bodies.items():
        report.update(await with_store(folder / f"{name}.db", args.sync, body))
    return report


def table(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("commits/s, one unit per transaction", f"{r['single_commits_per_s']:,.0f}"),
        (
            "commits/s, grouped",
            f"{r['grouped_commits_per_s']:,.0f} ({r['grouped_units_per_txn']:.0f} units/txn)",
        ),
        ("job inserts/s, 1000 jobs per unit", f"{r['bulk_jobs_per_s']:,.0f}"),
        ("slot claims/s (claim + job.fired)", f"{r['claims_per_s']:,.0f}"),
        (
            "duplicate claims refused/s",
            f"{r['duplicate_refusals_per_s']:,.0f} ({r['duplicates_refused']} of 1000)",
        ),
        ("event appends/s", f"{r['event_appends_per_s']:,.0f}"),
        ("event replay/s (bus, since_seq)", f"{r['event_replay_per_s']:,.0f}"),
        ("database bytes per 10k events", f"{r['bytes_per_10k_events'] / 2**20:.2f} MiB"),
        (f"boot index of {r['index_jobs']:,} jobs", f"{r['index_s'] * 1000:.0f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--grouped", type=int, default=20000)
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--sync", choices=("normal", "full"), default="normal")
    parser.add_argument("--json", action="store_true")
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
