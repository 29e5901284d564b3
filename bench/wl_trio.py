"""Raw-trio lower bounds: what a scheduler on trio costs with nothing but the essentials.

Three variants (``--variant``):

- ``heap``: one deadline heap served by one task, no persistence;
- ``heap-sqlite``: the same heap, and each fire first claims its slot in SQLite
  (``INSERT`` into a ``UNIQUE(job_id, fire_time)`` table, one transaction per fire,
  the due fires of one wake-up in one worker-thread call) — the floor under gnomon's
  durable fires;
- ``tasks``: one sleeping trio task per job.

Run one: ``python -m bench.wl_trio W1 --variant heap --n 10000``.
"""

from __future__ import annotations

import argparse
import heapq
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from bench.common import emit, lateness_stats, memory_result, now, rss_bytes, sample, storm_result

Fire = Callable[[int, float], None]


class Claims:
    """Slot claims in SQLite through one worker thread, one transaction per batch."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE fires (job_id INTEGER, fire_time REAL, PRIMARY KEY (job_id, fire_time))"
        )
        self.limiter = trio.CapacityLimiter(1)

    def _claim(self, batch: list[tuple[int, float]]) -> None:
        for claim in batch:  # a transaction per fire: each claim is durable on its own
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO fires VALUES (?, ?)", claim)
            self.conn.execute("COMMIT")

    async def claim(self, batch: list[tuple[int, float]]) -> None:
        await trio.to_thread.run_sync(self._claim, batch, limiter=self.limiter)


class Heap:
    """One deadline heap of ``(due wall time, job, every)``; ``every`` 0 is one-shot."""

    def __init__(self, fire: Fire, claims: Claims | None) -> None:
        self.heap: list[tuple[float, int, float]] = []
        self.fire = fire
        self.claims = claims
        self.wake = trio.Event()

    def add(self, due: float, job: int, every: float = 0.0) -> None:
        heapq.heappush(self.heap, (due, job, every))

    async def run(self) -> None:
        while True:
            if not self.heap:
                await trio.sleep_forever()
            delay = self.heap[0][0] - now()
            if delay > 0:
                await trio.sleep(delay)
                continue
            due: list[tuple[float, int, float]] = []
            t = now()
            while self.heap and self.heap[0][0] <= t and len(due) < 1000:
                due.append(heapq.heappop(self.heap))
            if self.claims is not None:
                await self.claims.claim([(job, at) for at, job, _ in due])
            for at, job, every in due:
                self.fire(job, at)
                if every:
                    self.add(at + every, job, every)


async def by_tasks(fire: Fire, jobs: list[tuple[float, int, float]], ready: trio.Event) -> None:
    async def one(due: float, job: int, every: float) -> None:
        while True:
            await trio.sleep(max(0.0, due - now()))
            fire(job, due)
            if not every:
                return
            due += every

    async with trio.open_nursery() as n:
        for due, job, every in jobs:
            n.start_soon(one, due, job, every)
        ready.set()


async def drive(
    variant: str,
    db: Path,
    jobs: list[tuple[float, int, float]],
    until: float,
    fires: list[tuple[float, float]],
) -> dict[str, Any]:
    """Schedule ``jobs`` (due, id, every), run until wall time ``until``; fills ``fires``."""

    def fire(job: int, due: float) -> None:
        fires.append((due, now()))

    async with trio.open_nursery() as n:
        if variant == "tasks":
            ready = trio.Event()
            n.start_soon(by_tasks, fire, jobs, ready)
            await ready.wait()
        else:
            heap = Heap(fire, Claims(db) if variant == "heap-sqlite" else None)
            for due, job, every in jobs:
                heap.add(due, job, every)
            n.start_soon(heap.run)
        await trio.sleep(max(0.0, until - now()))
        n.cancel_scope.cancel()
    return {}


async def workload(name: str, variant: str, db: Path, a: argparse.Namespace) -> dict[str, Any]:
    fires: list[tuple[float, float]] = []
    if name == "W1":
        due = now() + 1.0
        await drive(variant, db, [(due, i, 0.0) for i in range(a.n)], due + 20, fires)
        return storm_result(due, [t for _, t in fires], a.n)
    if name == "W2":
        start = now() + 1.0
        jobs = [(start + a.spread * i / a.n, i, 0.0) for i in range(a.n)]
        await drive(variant, db, jobs, start + a.spread + 2, fires)
        lates = [max(0.0, t - d) for d, t in fires]
        return {
            "fired": len(fires),
            "expected": a.n,
            **lateness_stats(lates),
            "samples": sample(lates),
        }
    if name == "W3":
        return await memory(variant, a.n)
    first = now() + 1.0
    end = first + a.duration
    jobs = [(first, i, a.every) for i in range(a.n)]
    await drive(variant, db, jobs, end + 1.0, fires)
    window = [(d, t) for d, t in fires if first <= d < end - a.every / 2]  # float drift
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


async def memory(variant: str, n: int) -> dict[str, Any]:
    before = rss_bytes()
    due = now() + 86_400
    if variant == "tasks":
        async with trio.open_nursery() as nursery:
            ready = trio.Event()
            nursery.start_soon(
                by_tasks, lambda j, d: None, [(due, i, 0.0) for i in range(n)], ready
            )
            await ready.wait()
            await trio.sleep(0.5)
            after = rss_bytes()
            nursery.cancel_scope.cancel()
        return memory_result(before, after, n)
    heap = Heap(lambda j, d: None, None)
    for i in range(n):
        heap.add(due, i)
    return memory_result(before, rss_bytes(), n)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["W1", "W2", "W3", "W4"])
    p.add_argument("--variant", choices=["heap", "heap-sqlite", "tasks"], default="heap")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--spread", type=float, default=5.0)
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="trio-bench-") as tmp:
        res = trio.run(workload, a.workload, a.variant, Path(tmp) / "claims.db", a)
    store = "sqlite" if a.variant == "heap-sqlite" else "memory"
    res.update(system=f"trio-{a.variant}", store=store, workload=a.workload)
    emit(res)


if __name__ == "__main__":
    main()
