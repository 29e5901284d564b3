"""Where a batch fire's lateness goes (W2 at light load, or W4): timestamps along the path.

``python -m bench.fire_path W2 --n 2000`` (or ``W4 --n 300``) runs the workload of
:mod:`bench.wl_gnomon` with probes wrapped around the fire path (monkeypatched from here,
so the product code is untouched) and prints p50/p99 per component, in ms:

* ``wake``: slot → the firer's ``_fire_due`` starts (timer precision, trio scheduling,
  other work on the trio thread); ``overshoot`` is the trio-time part past the heap's
  deadline alone;
* ``stage``: → the chunk's ``commit_many`` call (ring, seal of the chunk);
* ``to_writer``: → the writer's transaction starts (its mailbox, a transaction before it);
* ``to_thread``: → the SQL starts on the store thread (limiter, thread hand-off);
* ``sql``: the transaction on the store thread (``commit_batch``, COMMIT included);
* ``back``: → the writer resumes on the trio thread (the hop back, the GIL);
* ``answer``: → the firer resumes after ``commit_many`` (replies, publishing);
* ``perform``: → the run is spawned; ``task``: → its task runs; ``action``: → the
  executor's ``run`` is called.

``GNOMON_FP_CHECKPOINT=N`` turns the store's background checkpoints off
(runtime/store/checkpoint.py) and sets SQLite's inline ``wal_autocheckpoint`` to ``N``
pages (0: none; SQLite's default is 1,000) for an A/B of the WAL checkpoint. On the shared
machine the figures in docs/performance.md were taken under ``chrt -f 10`` (the run
otherwise measures the other tenants). A diagnostic only: it relies on private names of
the fire path.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections import defaultdict
from typing import Any

import trio

from bench.common import percentile
from gnomon.actors import persistence as persistence_mod
from gnomon.actors.job import batch as batch_mod
from gnomon.actors.job import core as core_mod
from gnomon.actors.job import run_tracker as rt_mod
from gnomon.runtime.store import sql as sql_mod
from gnomon.runtime.store import sqlite as sqlite_mod
from gnomon.runtime.store import writer as writer_mod

REC: dict[str, dict[str, Any]] = defaultdict(dict)
WAKE: list[Any] = [0.0]
TXMAP: dict[int, dict[str, float]] = {}
CUR: list[dict[str, float]] = [{}]
BUSY: list[tuple[float, float]] = []  # the firer awaiting a commit
LOADS: list[tuple[float, float]] = []  # the firer awaiting a load of jobs handed in


def _unit_job(unit: Any) -> str | None:
    if unit.claims:
        return str(unit.claims[0][0])
    return None


def install() -> None:
    fire_due = batch_mod.BatchFirer._fire_due

    async def p_fire_due(self: Any) -> None:
        WAKE[0] = time.time()
        await fire_due(self)

    batch_mod.BatchFirer._fire_due = p_fire_due  # type: ignore[method-assign]

    ring = core_mod.JobCore.ring

    def p_ring(self: Any, mono: float) -> Any:
        r = REC[self.state.id]
        r.setdefault("wake", WAKE[0])
        if "overshoot" not in r:
            r["overshoot"] = trio.current_time() - self.deadline()
        return ring(self, mono)

    core_mod.JobCore.ring = p_ring  # type: ignore[method-assign]

    commit_batch = writer_mod.GroupWriter._commit_batch

    async def p_commit_batch(self: Any, batch: list[Any]) -> None:
        tx = {"rx": time.time(), "busy": float(self._limiter.borrowed_tokens)}
        tx["n"] = float(sum(len(m.units) for m in batch))
        CUR[0] = tx
        for msg in batch:
            for unit in msg.units:
                TXMAP[id(unit)] = tx
        write = self._write_units

        async def timed(units: list[Any]) -> Any:
            out = await write(units)
            tx["back"] = time.time()
            return out

        self._write_units = timed
        try:
            await commit_batch(self, batch)
        finally:
            del self._write_units

    writer_mod.GroupWriter._commit_batch = p_commit_batch  # type: ignore[method-assign]

    sql_commit = sql_mod.commit_batch

    def p_sql(*args: Any, **kw: Any) -> Any:
        tx = CUR[0]
        tx["t0"] = time.time()
        try:
            return sql_commit(*args, **kw)
        finally:
            tx["t1"] = time.time()

    sql_mod.commit_batch = p_sql

    commit_many = writer_mod.GroupWriter.commit_many

    async def p_commit_many(self: Any, units: Any, *, urgent: bool = False) -> Any:
        call = time.time()
        out = await commit_many(self, units, urgent=urgent)
        resume = time.time()
        BUSY.append((call, resume))
        for unit in units:
            job = _unit_job(unit)
            tx = TXMAP.pop(id(unit), None)
            if job is None or tx is None or urgent:
                continue
            r = REC[job]
            if "call" not in r:
                r.update(call=call, resume=resume, **{f"tx_{k}": v for k, v in tx.items()})
        return out

    writer_mod.GroupWriter.commit_many = p_commit_many  # type: ignore[method-assign]

    load_many = persistence_mod.StorePersistence.load_many

    async def p_load_many(self: Any, job_ids: Any) -> Any:
        call = time.time()
        try:
            return await load_many(self, job_ids)
        finally:
            LOADS.append((call, time.time()))

    persistence_mod.StorePersistence.load_many = p_load_many  # type: ignore[method-assign]

    start = rt_mod.RunTracker.start

    def p_start(self: Any, s: Any) -> None:
        REC[self.core.state.id].setdefault("spawn", time.time())
        start(self, s)

    rt_mod.RunTracker.start = p_start  # type: ignore[method-assign]

    task = rt_mod.RunTracker._task

    async def p_task(self: Any, slot: Any) -> None:
        REC[self.core.state.id].setdefault("task", time.time())
        await task(self, slot)

    rt_mod.RunTracker._task = p_task  # type: ignore[method-assign]


STEPS = [
    ("wake", "slot", "wake"),
    ("stage", "wake", "call"),
    ("to_writer", "call", "tx_rx"),
    ("to_thread", "tx_rx", "tx_t0"),
    ("sql", "tx_t0", "tx_t1"),
    ("back", "tx_t1", "tx_back"),
    ("answer", "tx_back", "resume"),
    ("perform", "resume", "spawn"),
    ("task", "spawn", "task"),
    ("action", "task", "fire"),
    ("total", "slot", "fire"),
]


def _overlap(a: float, b: float, spans: list[tuple[float, float]]) -> float:
    """Milliseconds of ``[a, b]`` covered by ``spans``."""
    return 1000 * sum(max(0.0, min(b, e) - max(a, s)) for s, e in spans if e > a and s < b)


def breakdown(fires: list[tuple[str, Any, float]]) -> dict[str, Any]:
    """Per-component p50/p99/mean (ms) over the first fire of every job."""
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for job_id, fire_time, at in fires:
        if job_id in seen:
            continue
        seen.add(job_id)
        r = dict(REC.get(job_id, {}), slot=fire_time.timestamp(), fire=at)
        if all(k in r for _, a, b in STEPS for k in (a, b)):
            rows.append(r)
    out: dict[str, Any] = {"fires": len(rows)}
    for name, a, b in STEPS:
        xs = [(r[b] - r[a]) * 1000 for r in rows]
        out[name] = {
            "p50": round(percentile(xs, 50), 3),
            "p99": round(percentile(xs, 99), 3),
            "mean": round(sum(xs) / len(xs), 3) if xs else None,
        }
    for name, spans in (("wake_blocked_by_commit", BUSY), ("wake_blocked_by_load", LOADS)):
        blocked = [_overlap(r["slot"], r["wake"], spans) for r in rows]
        out[name] = {
            "p50": round(percentile(blocked, 50), 3),
            "p99": round(percentile(blocked, 99), 3),
            "mean": round(sum(blocked) / max(1, len(blocked)), 3),
        }
    out["loads"] = len(LOADS)
    over = [r["overshoot"] * 1000 for r in rows]
    out["overshoot"] = {"p50": percentile(over, 50), "p99": percentile(over, 99)}
    out["tx_units_mean"] = sum(r["tx_n"] for r in rows) / max(1, len(rows))
    out["limiter_busy_share"] = sum(r["tx_busy"] for r in rows) / max(1, len(rows))
    late = sorted(rows, key=lambda r: r["fire"] - r["slot"])[-max(1, len(rows) // 100) :]
    out["worst_1pct_mean"] = {
        name: round(sum((r[b] - r[a]) * 1000 for r in late) / len(late), 3) for name, a, b in STEPS
    }
    return out


def main() -> None:
    from bench import wl_gnomon

    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["W2", "W4"])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--spread", type=float, default=5.0)
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    a = p.parse_args()
    if os.environ.get("GNOMON_FP_CHECKPOINT"):  # wal_autocheckpoint pages (0: none)
        pages = int(os.environ["GNOMON_FP_CHECKPOINT"])
        init = sqlite_mod.SqliteStore.__init__

        def init_with(self: Any, path: str, **kw: Any) -> None:
            init(self, path, **{**kw, "background_checkpoints": False})
            self._conn.execute(f"PRAGMA wal_autocheckpoint={pages}")

        sqlite_mod.SqliteStore.__init__ = init_with  # type: ignore[method-assign]
    install()
    captured: list[Any] = []
    rec_exec = wl_gnomon.world

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def world(db: Any, **kw: Any) -> Any:
        async with rec_exec(db, **kw) as w:
            captured.append(w)
            yield w

    wl_gnomon.world = world  # type: ignore[assignment]
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="gnomon-fp-") as tmp:
        db = Path(tmp) / "gnomon.db"
        if a.workload == "W2":
            res = trio.run(wl_gnomon.w2_precision, db, a.n, a.spread)
        else:
            res = trio.run(wl_gnomon.w4_churn, db, a.n, a.every, a.duration)
    res.pop("samples", None)
    use = resource.getrusage(resource.RUSAGE_SELF)
    res["cpu_s"] = use.ru_utime + use.ru_stime
    fires = captured[0].executor.fires
    out = {"result": res, "breakdown": breakdown(fires)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
