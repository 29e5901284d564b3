"""APScheduler 4.0 (alpha) on the workloads; runs in its own virtualenv.

``python aps4.py W1 --store memory|sqlite --backend trio|asyncio --n 10000`` prints one
``RESULT {json}`` line. A fire is the moment the task function starts; its slot is the
job's ``scheduled_fire_time``. Its SQL store refuses trio ("requires asyncio"): the
orchestrator tries trio, records the refusal, and runs it on asyncio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import anyio
from apscheduler import AsyncScheduler, current_job
from apscheduler.datastores.memory import MemoryDataStore
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from common import emit, lateness_stats, memory_result, now, rss_bytes, sample, storm_result

FIRES: list[tuple[float, float]] = []


async def fire() -> None:
    t = now()
    slot = current_job.get().scheduled_fire_time
    FIRES.append((slot.timestamp() if slot is not None else t, t))


def wall(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def data_store(store: str, db: Path) -> Any:
    if store == "memory":
        return MemoryDataStore()
    from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore

    return SQLAlchemyDataStore(f"sqlite+aiosqlite:///{db}")


async def run(a: argparse.Namespace, db: Path) -> dict[str, Any]:
    async with AsyncScheduler(data_store(a.store, db), max_concurrent_jobs=1000) as sched:
        await sched.start_in_background()
        before = rss_bytes()
        t0 = now()
        grace = timedelta(days=1)
        if a.workload == "W3":
            due = wall(now() + 86_400)
            for i in range(a.n):
                await sched.add_schedule(fire, DateTrigger(due), id=f"m{i}")
            return memory_result(before, rss_bytes(), a.n)
        if a.workload == "W4":
            first = now() + 2.0 + a.n / 1000
            for i in range(a.n):
                trig = IntervalTrigger(seconds=a.every, start_time=wall(first))
                await sched.add_schedule(fire, trig, id=f"c{i}", misfire_grace_time=grace)
            end = first + a.duration
            await anyio.sleep(end - now() + 1.0)
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
        start = now() + 2.0 + a.n / (1000 if a.store == "memory" else 200)
        for i in range(a.n):
            trig = DateTrigger(wall(start + spread * i / a.n))
            await sched.add_schedule(fire, trig, id=f"j{i}", misfire_grace_time=grace)
        created = now()
        deadline = start + spread + a.timeout
        while len(FIRES) < a.n and now() < deadline:  # noqa: ASYNC110 - polling is the point
            await anyio.sleep(0.05)
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
        await sched.stop()
        return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["W1", "W2", "W3", "W4"])
    p.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    p.add_argument("--backend", choices=["trio", "asyncio"], default="trio")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--spread", type=float, default=5.0)
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="aps4-bench-") as tmp:
        try:
            res = anyio.run(run, a, Path(tmp) / "jobs.db", backend=a.backend)
        except Exception as exc:  # the SQL store on trio: a refusal is a result
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            res = {"error": f"{type(exc).__name__}: {exc}"}
    res.update(system="apscheduler4", store=a.store, backend=a.backend, workload=a.workload)
    emit(res)


if __name__ == "__main__":
    main()
