"""``python -m bench.storeproc_run ipc|storm|w2 [--pairs K]``: the store's writer on a
thread (today) against the writer in a child process (:mod:`bench.storeproc`).

- ``ipc``: the cost per unit of crossing the boundary, on each side, for a fire unit and
  an end unit (``bench.store_units``' shapes, 256 a batch): pickling the units (parent),
  unpickling them (child), the child's ``commit_batch``, the answer's links both ways and
  the rebuilt events (parent); beside it, what the parent would spend pre-encoding the
  rows instead (the state, run and event texts), which is the encoding a process would
  otherwise take off the trio thread.
- ``storm``: W1 as ``bench.storm`` runs it (prefill, reboot, one slot), each design in its
  own child process, ``--pairs`` times alternating: fires/s, p99 lateness, CPU per fire
  of the trio thread, of the other threads and of the store's process, and the wall time
  of each ``commit``/``commit_many`` call (p50/p99).
- ``w2``: W2 (2,000 one-shot jobs over 5 s, ``bench.wl_gnomon``), alternating likewise:
  p99 lateness and the latency of the commits from the first slot on.
- ``hop``: one committer, one fire unit every 2.5 ms (W2's rate), 2,000 times: the
  round trip of a lone commit through the thread hop or the socket (p50/p99).
- ``check``: the pre-encoded rows write exactly what ``commit_batch`` writes.

Prints one JSON object. A benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

import bench.gnomon_world as gnomon_world
from bench.common import emit, lateness_stats, now, percentile, storm_result
from bench.store_units import end_unit, fire_unit
from bench.storeproc import PICKLE, ProcessStore, TimedStore, encode_results, rebuild
from bench.storeproc_rows import commit_rows, dumps_units
from bench.storm import BOOT_MARGIN, CREATE_RATE, _prefill, thread_cpu
from bench.wl_gnomon import wall
from gnomon.runtime import Supervisor
from gnomon.runtime.model.events import _canonical_text
from gnomon.runtime.model.schedule import OnceSchedule
from gnomon.runtime.store import Changes, sql
from gnomon.runtime.store.sql_write import _run_row, job_rows

ROOT = Path(__file__).resolve().parent.parent
STORES: list[Any] = []
DESIGNS = ["thread", "process", "rows"]


def _use(design: str) -> Callable[..., Any]:
    """Make :func:`bench.gnomon_world.world` build this design's store."""

    def open_store(where: Any, **kwargs: Any) -> Any:
        if design == "thread":
            store: Any = TimedStore(str(where), **kwargs)
        else:
            store = ProcessStore(str(where), rows=design == "rows", **kwargs)
        STORES.append(store)
        return store

    gnomon_world.open_store = open_store  # type: ignore[attr-defined]
    return open_store


def _lat(store: Any) -> dict[str, float]:
    lat = store.latencies
    return {
        "commit_p50_ms": percentile(lat, 50) * 1000,
        "commit_p99_ms": percentile(lat, 99) * 1000,
        "commits": len(lat),
    }


# -- ipc ---------------------------------------------------------------------------------


def _per_unit(fn: Callable[[], Any], n: int, rounds: int = 9) -> float:
    """Median thread-CPU µs per unit of ``fn`` (which handles ``n`` units)."""
    spent = []
    for _ in range(rounds):
        t0 = time.thread_time()
        fn()
        spent.append((time.thread_time() - t0) / n * 1e6)
    return sorted(spent)[len(spent) // 2]


def _pre_encode(units: list[Changes]) -> None:
    for unit in units:
        list(job_rows(unit))
        [_run_row(run, "boot") for run in unit.runs]
        [_canonical_text(draft, 1) for draft in unit.events]


def _ipc_kind(
    conn: Any, chain: Any, make: Callable[..., Changes], transitions: int, per: int
) -> dict[str, float]:
    cycle = itertools.count(1)

    def fresh() -> list[Changes]:
        return [make(i, next(cycle), transitions, True) for i in range(per)]

    units = [make(i, 1, transitions, True) for i in range(per)]
    data = pickle.dumps(units, PICKLE)
    batches = iter([fresh() for _ in range(9)])
    commit = _per_unit(lambda: sql.commit_batch(conn, next(batches), chain, "b", _no), per)
    results: Any = sql.commit_batch(conn, fresh(), chain, "b", _no)
    reply = pickle.dumps(("ok", encode_results(results), chain.seq), PICKLE)
    rows_data = dumps_units(units, "b")
    encoded = iter([dumps_units(fresh(), "b") for _ in range(9)])
    return {
        "bytes_per_unit": len(data) / per,
        "parent_pickle_us": _per_unit(lambda: pickle.dumps(units, PICKLE), per),
        "child_unpickle_us": _per_unit(lambda: pickle.loads(data), per),
        "child_commit_batch_us": commit,
        "child_answer_us": _per_unit(
            lambda: pickle.dumps(("ok", encode_results(results), 1), PICKLE), per
        ),
        "parent_rebuild_us": _per_unit(lambda: rebuild(units, pickle.loads(reply)[1]), per),
        "parent_pre_encode_us": _per_unit(lambda: _pre_encode(units), per),
        "rows_parent_encode_pickle_us": _per_unit(lambda: dumps_units(units, "b"), per),
        "rows_bytes_per_unit": len(rows_data) / per,
        "rows_child_unpickle_us": _per_unit(lambda: pickle.loads(rows_data), per),
        "rows_child_commit_us": _per_unit(
            lambda: commit_rows(conn, pickle.loads(next(encoded)), chain), per
        ),
    }


def _no(point: str) -> None:
    """No crash point (the bench kills nothing)."""


def ipc(transitions: int, per: int = 256) -> dict[str, Any]:
    """Per-unit costs of each side of the boundary, fire and end units (module doc)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="storeproc-") as tmp:
        conn = sql.connect(str(Path(tmp) / "gnomon.db"))
        chain = sql.load_chain(conn)
        for kind, make in (("fire", fire_unit), ("end", end_unit)):
            out[kind] = _ipc_kind(conn, chain, make, transitions, per)
        conn.close()
    return out


def check(per: int = 64) -> dict[str, Any]:
    """The rows variant writes what ``commit_batch`` writes: the same units (one refused
    for a taken claim) into two databases, every table compared (claim times aside)."""
    dumps: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="storeproc-") as tmp:
        for k, rows in enumerate((False, True)):
            conn = sql.connect(str(Path(tmp) / f"{k}.db"))
            chain = sql.load_chain(conn)
            for make in (fire_unit, end_unit, fire_unit):  # the last: every claim taken
                units = [make(i, 1, 3) for i in range(per)]
                if rows:
                    commit_rows(conn, pickle.loads(dumps_units(units, "b")), chain)
                else:
                    sql.commit_batch(conn, units, chain, "b", lambda p: None)
            tables = ("jobs", "runs", "events", "meta")
            dumps.append([conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables])
            dumps[-1].append(conn.execute("SELECT job_id, fire_time FROM fires").fetchall())
            conn.close()
    return {"identical": dumps[0] == dumps[1], "events": len(dumps[0][2])}


# -- storm and W2 ------------------------------------------------------------------------


def _schedstat() -> tuple[float, float]:
    """The trio (main) thread's seconds on a CPU and waiting in the run queue so far."""
    with open(f"/proc/self/task/{os.getpid()}/schedstat") as f:
        on_cpu, run_queue, _slices = f.read().split()
    return int(on_cpu) / 1e9, int(run_queue) / 1e9


async def _window(due: float, done: trio.Event) -> dict[str, float]:
    """How the trio thread spent the fire window (the slot until the last fire): on a
    CPU, runnable but waiting for one (the machine's load), or asleep — waiting for the
    GIL or for work. Only the asleep share is what freeing the GIL could win back."""
    await trio.sleep(max(0.0, due - now()))
    (cpu0, rq0), t0 = _schedstat(), now()
    await done.wait()
    (cpu1, rq1), t1 = _schedstat(), now()
    span = max(t1 - t0, 1e-9)
    on, rq = (cpu1 - cpu0) / span, (rq1 - rq0) / span
    return {"trio_on_cpu": on, "trio_run_queue": rq, "trio_asleep": max(0.0, 1 - on - rq)}


async def _storm(db: Path, n: int, due: float) -> dict[str, Any]:
    """Boot a second engine on ``db``; CPU from its boot to the last job's end."""
    window: dict[str, float] = {}
    async with gnomon_world.world(db, boot_id="bench-restart") as w:
        store = STORES[-1]
        cpu0 = thread_cpu()
        child0 = store.child_cpu() if isinstance(store, ProcessStore) else 0.0
        ipc0 = getattr(store, "ipc_cpu", 0.0)
        store.latencies.clear()
        done = w.executor.wait_for(n)
        with trio.move_on_at(trio.current_time() + (due - now()) + 300):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(lambda: _fill(window, _window(due, done)))
                await done.wait()
            while w.tree.directory.live_count:  # noqa: ASYNC110
                await trio.sleep(0.05)
        cpu1 = thread_cpu()
        child1 = store.child_cpu() if isinstance(store, ProcessStore) else 0.0
        ipc1 = getattr(store, "ipc_cpu", 0.0)
    fired = [t for _, _, t in w.executor.fires]
    out = storm_result(due, fired, n)
    out.pop("samples")
    count = max(1, len(fired))
    out.update(
        cpu_us_per_fire_trio=1e6 * (cpu1[0] - cpu0[0]) / count,
        cpu_us_per_fire_threads=1e6 * (cpu1[1] - cpu0[1]) / count,
        cpu_us_per_fire_child=1e6 * (child1 - child0) / count,
        ipc_us_per_fire_trio=1e6 * (ipc1 - ipc0) / count,
        **_lat(store),
        **window,
    )
    return out


async def _fill(into: dict[str, float], what: Any) -> None:
    into.update(await what)


def storm_child(design: str, n: int) -> dict[str, Any]:
    _use(design)
    with tempfile.TemporaryDirectory(prefix="storeproc-") as tmp:
        db = Path(tmp) / "gnomon.db"
        due = now() + BOOT_MARGIN + n / CREATE_RATE
        trio.run(_prefill, db, n, due)
        created = now()
        out = trio.run(_storm, db, n, due)
    out.update(design=design, created_before_due=created < due)
    return out


async def _w2(db: Path, n: int, spread: float) -> dict[str, Any]:
    """W2 as ``bench.wl_gnomon`` runs it; commit latency counted from the first slot."""
    async with gnomon_world.world(db) as w:
        start = now() + 3.0 + n / 2500
        dues = {f"prec-{i}": start + spread * i / n for i in range(n)}
        await gnomon_world.create_all(w, [(k, OnceSchedule(at=wall(t))) for k, t in dues.items()])
        STORES[-1].since = start
        done = w.executor.wait_for(n)
        with trio.move_on_at(trio.current_time() + (start + spread - now()) + 60):
            await done.wait()
        lates = [max(0.0, t - ft.timestamp()) for _, ft, t in w.executor.fires]
        return {"fired": len(lates), "expected": n, **lateness_stats(lates)}


def w2_child(design: str, n: int) -> dict[str, Any]:
    _use(design)
    with tempfile.TemporaryDirectory(prefix="storeproc-") as tmp:
        out = trio.run(_w2, Path(tmp) / "gnomon.db", n, 5.0)
    out.update(design=design, **_lat(STORES[-1]))
    return out


async def _hop(db: Path, design: str, count: int, every: float) -> dict[str, Any]:
    """One committer, one fire unit per commit every ``every`` seconds (W2's 400/s is
    2.5 ms): the commit's round trip through the writer (thread hop or socket)."""
    store: Any = _use(design)(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(Supervisor("infra", children=[store.writer_spec()]).run)
        await store.begin_boot("hop", datetime.now(UTC))
        for k in range(20):  # warm up
            await store.commit(fire_unit(k, 1, 2, True))
        store.latencies.clear()
        next_at = trio.current_time()
        for k in range(count):
            next_at += every
            await trio.sleep_until(next_at)
            await store.commit(fire_unit(k, 2, 2, True))
        nursery.cancel_scope.cancel()
    store.close()
    return {"design": design, **_lat(store)}


def hop_child(design: str, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="storeproc-") as tmp:
        return trio.run(_hop, Path(tmp) / "gnomon.db", design, n, 0.0025)


def _child(argv: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.storeproc_run", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-800:]}"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("section", choices=["check", "ipc", "storm", "w2", "hop"])
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--transitions", type=int, default=2)
    p.add_argument("--child", choices=DESIGNS)
    p.add_argument("--designs", default=",".join(DESIGNS))
    a = p.parse_args()
    if a.section == "check":
        print(json.dumps(check()))
        return
    if a.section == "ipc":
        print(json.dumps({"ipc": ipc(a.transitions), "load": os.getloadavg()}, indent=2))
        return
    n = a.n or {"storm": 10_000, "w2": 2_000, "hop": 2_000}[a.section]
    if a.child:
        run = {"storm": storm_child, "w2": w2_child, "hop": hop_child}[a.section]
        emit(run(a.child, n))
        return
    runs = []
    for _ in range(a.pairs):
        for design in a.designs.split(","):
            load = os.getloadavg()
            res = _child([a.section, "--n", str(n), "--child", design])
            res["load_before"] = load
            runs.append(res)
            print(json.dumps(res), file=sys.stderr)
    print(json.dumps({"section": a.section, "n": n, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
