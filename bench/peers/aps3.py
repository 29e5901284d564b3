"""APScheduler 3.11 (asyncio) on the workloads; runs in its own virtualenv.

``python aps3.py W1 --store memory|sqlite --n 10000`` prints one ``RESULT {json}`` line.
A fire is the moment the job's coroutine starts running (gnomon's fire is the moment
its action is handed to the executor); its slot comes from the job's argument (date
jobs) or from ``EVENT_JOB_SUBMITTED``'s scheduled run times (interval jobs). Jobs are
coroutines run on the loop; ``misfire_grace_time=None`` so late jobs still run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from apscheduler.events import EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from common import emit, lateness_stats, memory_result, now, rss_bytes, sample, storm_result

FIRES: list[tuple[float, float]] = []
SLOTS: dict[str, deque[float]] = defaultdict(deque)


async def once(due: float) -> None:
    FIRES.append((due, now()))


async def tick(job_id: str) -> None:
    t = now()
    slots = SLOTS[job_id]
    FIRES.append((slots.popleft() if slots else t, t))


async def noop() -> None:
    return None


def wall(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def scheduler(store: str, db: Path) -> AsyncIOScheduler:
    stores: dict[str, Any] = {}
    if store == "sqlite":
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        stores["default"] = SQLAlchemyJobStore(url=f"sqlite:///{db}")
    sched = AsyncIOScheduler(
        jobstores=stores,
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone=UTC,
    )

    def submitted(event: Any) -> None:
        if event.job_id.startswith("c"):
            SLOTS[event.job_id].extend(s.timestamp() for s in event.scheduled_run_times)

    sched.add_listener(submitted, EVENT_JOB_SUBMITTED)
    return sched


async def run(a: argparse.Namespace, db: Path) -> dict[str, Any]:
    sched = scheduler(a.store, db)
    sched.start()
    before = rss_bytes()
    t0 = now()
    if a.workload == "W3":
        due = wall(now() + 86_400)
        for i in range(a.n):
            sched.add_job(noop, "date", run_date=due, id=f"m{i}")
        return memory_result(before, rss_bytes(), a.n)
    if a.workload == "W4":
        first = now() + 2.0 + a.n / 2000
        for i in range(a.n):
            sched.add_job(
                tick,
                "interval",
                seconds=a.every,
                start_date=wall(first),
                id=f"c{i}",
                args=[f"c{i}"],
            )
        end = first + a.duration
        await asyncio.sleep(end - now() + 1.0)
        window = [(d, t) for d, t in FIRES if first <= d < end]
        nominal = a.n * round(a.duration / a.every)
        lates = [max(0.0, t - d) for d, t in window]
        return {
            "fires": len(window),
            "nominal": nominal,
            "completed_pct": 100.0 * len(window) / nominal,
            "fires_per_s": len(window) / a.duration,
            **lateness_stats(lates),
            "samples": sample(lates),
        }
    spread = a.spread if a.workload == "W2" else 0.0
    start = now() + 2.0 + a.n / (2000 if a.store == "memory" else 300)
    dues = [start + spread * i / a.n for i in range(a.n)]
    for i, due in enumerate(dues):
        sched.add_job(once, "date", run_date=wall(due), id=f"j{i}", args=[due])
    created = now()
    deadline = start + spread + a.timeout
    while len(FIRES) < a.n and now() < deadline:  # noqa: ASYNC110 - polling is the point
        await asyncio.sleep(0.05)
    if a.workload == "W1":
        out = storm_result(start, [t for _, t in FIRES], a.n)
    else:
        lates = [max(0.0, t - d) for d, t in FIRES]
        out = {
            "fired": len(FIRES),
            "expected": a.n,
            **lateness_stats(lates),
            "samples": sample(lates),
        }
    out["create_s"] = created - t0
    out["created_before_due"] = created < start
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["W1", "W2", "W3", "W4"])
    p.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--spread", type=float, default=5.0)
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="aps3-bench-") as tmp:
        res = asyncio.run(run(a, Path(tmp) / "jobs.db"))
    res.update(system="apscheduler3", store=a.store, workload=a.workload)
    emit(res)


if __name__ == "__main__":
    main()
