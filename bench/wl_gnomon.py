"""The workloads against gnomon's engine in this process (see :mod:`bench.gnomon_world`).

Run one: ``python -m bench.wl_gnomon W1 --n 10000``; it prints one ``RESULT {json}``
line. The orchestrator (``python -m bench``) runs each in a fresh process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from bench.common import emit, lateness_stats, memory_result, now, rss_bytes, sample, storm_result
from bench.gnomon_world import create_all, world
from bench.pg import fresh_pg
from bench.storm import thread_cpu
from gnomon.runtime.model.schedule import CronSchedule, IntervalSchedule, OnceSchedule, Schedule


def wall(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


async def w1_storm(db: Path | str, n: int) -> dict[str, Any]:
    """``n`` one-shot jobs due at the same instant: time until all fired, lateness."""
    async with world(db) as w:
        t0 = now()
        due = t0 + 3.0 + n / 2500
        specs: list[tuple[str, Schedule]] = [
            (f"storm-{i}", OnceSchedule(at=wall(due))) for i in range(n)
        ]
        await create_all(w, specs)
        created = now()
        done = w.executor.wait_for(n)
        with trio.move_on_at(trio.current_time() + (due - now()) + 120):
            await done.wait()
        fired = [t for _, _, t in w.executor.fires]
        out = storm_result(due, fired, n)
        out["create_s"] = created - t0
        out["created_before_due"] = created < due
        return out


async def w2_precision(db: Path | str, n: int, spread: float) -> dict[str, Any]:
    """``n`` one-shot jobs spread evenly over ``spread`` seconds: lateness."""
    async with world(db) as w:
        start = now() + 3.0 + n / 2500
        dues = {f"prec-{i}": start + spread * i / n for i in range(n)}
        await create_all(w, [(k, OnceSchedule(at=wall(t))) for k, t in dues.items()])
        done = w.executor.wait_for(n)
        with trio.move_on_at(trio.current_time() + (start + spread - now()) + 60):
            await done.wait()
        lates = [max(0.0, t - ft.timestamp()) for _, ft, t in w.executor.fires]
        return {
            "fired": len(lates),
            "expected": n,
            **lateness_stats(lates),
            "samples": sample(lates),
        }


async def w3_memory(db: Path | str, n: int) -> dict[str, Any]:
    """``n`` pending jobs (due in a day, so passivated): RSS delta per job."""
    async with world(db) as w:
        await trio.sleep(0.5)
        before = rss_bytes()
        due = wall(now() + 86_400)
        await create_all(w, [(f"mem-{i}", OnceSchedule(at=due)) for i in range(n)])
        await trio.sleep(2.0)  # let the linger of any active actor pass
        after = rss_bytes()
        out = memory_result(before, after, n)
        out["active_actors"] = len(w.tree.registry.of_kind("job"))
        out["heap"] = w.tree.directory.heap_size
        return out


async def w4_churn(db: Path | str, n: int, every: float, duration: float) -> dict[str, Any]:
    """``n`` interval jobs every ``every`` s for ``duration`` s: fires/s achieved, lateness."""
    async with world(db) as w:
        anchor = wall(now() + 3.0 + n / 2500)
        sched = IntervalSchedule(every=every, anchor=anchor)
        await create_all(w, [(f"churn-{i}", sched) for i in range(n)])
        first = anchor.timestamp() + every
        end = first + duration
        cpu0, fired0 = thread_cpu(), len(w.executor.fires)
        await trio.sleep(max(0.0, end - now()) + 2.0)
        cpu1, fired = thread_cpu(), max(1, len(w.executor.fires) - fired0)
        window = [(ft, t) for _, ft, t in w.executor.fires if first <= ft.timestamp() < end]
        nominal = n * round(duration / every)
        lates = [max(0.0, t - ft.timestamp()) for ft, t in window]
        return {
            "fires": len(window),
            "nominal": nominal,
            "completed_pct": 100.0 * len(window) / nominal,
            "fires_per_s": len(window) / duration,
            # CPU per fire from the creations' end: the trio thread, every other thread
            "cpu_us_per_fire_trio": 1e6 * (cpu1[0] - cpu0[0]) / fired,
            "cpu_us_per_fire_store": 1e6 * (cpu1[1] - cpu0[1]) / fired,
            **lateness_stats(lates),
            "samples": sample(lates),
        }


async def cron_lag(db: Path | str, n: int, minutes: float) -> dict[str, Any]:
    """``n`` hourly cron schedules spread over the minutes of the hour (``M * * * *`` with
    ``M = i mod 60``, like a large crontab): every minute boundary ~n/60 of them are due
    together. Fire lag over ``minutes`` of wall time."""
    async with world(db) as w:
        specs: list[tuple[str, Schedule]] = [
            (f"cron-{i}", CronSchedule(expr=f"{i % 60} * * * *", tz="UTC")) for i in range(n)
        ]
        await create_all(w, specs)
        start = now()
        end = start + minutes * 60
        await trio.sleep(max(0.0, end - now()) + 5.0)
        window = [(ft, t) for _, ft, t in w.executor.fires if start <= ft.timestamp() < end]
        slots = [m * 60 for m in range(int(start // 60) + 1, int(end // 60) + 1) if m * 60 < end]
        due = sum(sum(1 for i in range(n) if i % 60 == wall(b).minute) for b in slots)
        lates = [max(0.0, t - ft.timestamp()) for ft, t in window]
        return {
            "schedules": n,
            "minutes": minutes,
            "slots": len(slots),
            "due": due,
            "fired": len(window),
            **lateness_stats(lates),
            "samples": sample(lates),
        }


WORKLOADS = {
    "W1": w1_storm,
    "W2": w2_precision,
    "W3": w3_memory,
    "W4": w4_churn,
    "CRON": cron_lag,
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=sorted(WORKLOADS))
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--spread", type=float, default=5.0)
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--store", default="", help="PostgreSQL server URL (W1 on a fresh database)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="gnomon-bench-") as tmp, ExitStack() as stack:
        db: Path | str = Path(tmp) / "gnomon.db"
        if a.store:
            db = stack.enter_context(fresh_pg(a.store))
        started = time.perf_counter()
        if a.workload == "W1":
            res = trio.run(w1_storm, db, a.n)
        elif a.workload == "W2":
            res = trio.run(w2_precision, db, a.n, a.spread)
        elif a.workload == "W3":
            res = trio.run(w3_memory, db, a.n)
        elif a.workload == "CRON":
            res = trio.run(cron_lag, db, a.n, a.minutes)
        else:
            res = trio.run(w4_churn, db, a.n, a.every, a.duration)
    res.update(system="gnomon", store="postgresql" if a.store else "sqlite", workload=a.workload)
    res["wall_s"] = time.perf_counter() - started
    emit(res)


if __name__ == "__main__":
    main()
