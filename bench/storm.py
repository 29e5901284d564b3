"""``python -m bench.storm --n N [--json]``: W1 as a real storm, gnomon beside raw trio.

A storm is what a restart after an outage looks like: every job is already in the store
when the engine boots, and all of them are due at one instant shortly after. So gnomon's
side runs in two phases in one child process: it creates ``N`` one-shot jobs through the
engine (admission, the ``Created`` step, the store), stops that engine, then boots a new
engine on the same database file (boot index, recovery, the directory's heap) and lets the
slot come. The raw trio heap with a SQLite claim per fire (``bench.wl_trio W1 --variant
heap-sqlite``) runs right after in its own child process, on the same machine in the same
run, so the ratio between the two is what counts (the machine is shared and noisy).

CPU per fire is read from ``/proc/self/task/*/stat`` between the boot of the second engine
and the end of the storm (every job finished, not just fired): the trio thread (the main
thread) and every other thread of the process (the store's worker threads) separately.
Prints one JSON object. A benchmark, not a test: nothing here asserts.

``--compare`` runs gnomon's side twice — the batch firer on and off
(``engine.batch_firing``, docs/engine.md) — and the raw heap, in one run, and prints the
three side by side with the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from bench.common import emit, now, storm_result
from bench.gnomon_world import create_all, world
from gnomon.runtime.model.schedule import OnceSchedule, Schedule

ROOT = Path(__file__).resolve().parent.parent
#: Seconds between the end of the second boot and the slot, at least (the directory
#: activates jobs ahead of their slot; the storm must not start before the boot is done).
BOOT_MARGIN = 8.0
#: Creation rate assumed when choosing the slot (jobs/s through the engine, pessimistic).
CREATE_RATE = 800.0


def thread_cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of the main thread and of all other threads."""
    tick = os.sysconf("SC_CLK_TCK")
    main_tid, main, other = os.getpid(), 0.0, 0.0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(tid) == main_tid:
            main += seconds
        else:
            other += seconds
    return main, other


async def _prefill(db: Path, n: int, due: float) -> float:
    """Create ``n`` jobs due at ``due`` through a first engine; the creation time."""
    t0 = now()
    async with world(db) as w:
        at = datetime.fromtimestamp(due, UTC)
        specs: list[tuple[str, Schedule]] = [(f"storm-{i}", OnceSchedule(at=at)) for i in range(n)]
        await create_all(w, specs)
    return now() - t0


async def _storm(db: Path, n: int, due: float, batch: bool | None) -> dict[str, Any]:
    """Boot a second engine on ``db``; wait until every job fired and finished."""
    cpu0, boot0 = thread_cpu(), now()
    async with world(db, boot_id="bench-restart", batch_firing=batch) as w:
        booted = now()
        done = w.executor.wait_for(n)
        with trio.move_on_at(trio.current_time() + (due - now()) + 300):
            await done.wait()
            while w.tree.directory.live_count:  # noqa: ASYNC110 (no event to wait on)
                await trio.sleep(0.05)  # the end units are still committing
        finished = now()
        cpu1 = thread_cpu()
        activations = w.tree.directory.activations
    fired = [t for _, _, t in w.executor.fires]
    out = storm_result(due, fired, n)
    count = max(1, len(fired))
    out.update(
        boot_s=booted - boot0,
        booted_before_due=booted < due,
        finished_after_due_s=finished - due,
        cpu_us_per_fire_trio=1e6 * (cpu1[0] - cpu0[0]) / count,
        cpu_us_per_fire_store=1e6 * (cpu1[1] - cpu0[1]) / count,
        actor_activations=activations,
        batch_firing=w.tree.batch is not None,
    )
    return out


def gnomon_child(n: int, batch: bool | None = None) -> dict[str, Any]:
    """Both phases in this process; one result record."""
    with tempfile.TemporaryDirectory(prefix="gnomon-storm-") as tmp:
        db = Path(tmp) / "gnomon.db"
        due = now() + BOOT_MARGIN + n / CREATE_RATE
        create_s = trio.run(_prefill, db, n, due)
        created = now()
        out = trio.run(_storm, db, n, due, batch)
    out.update(create_s=create_s, created_before_due=created < due, system="gnomon")
    return out


def _child(argv: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-800:]}"}


def summary(gnomon: dict[str, Any], heap: dict[str, Any]) -> dict[str, Any]:
    """The one JSON object this command prints (the raw records included)."""
    g_rate, h_rate = gnomon.get("fires_per_s"), heap.get("fires_per_s")
    ratio = g_rate / h_rate if isinstance(g_rate, float) and isinstance(h_rate, float) else None
    strip = ("samples",)
    return {
        "n": gnomon.get("expected"),
        "gnomon_fires_per_s": g_rate,
        "gnomon_p99_late_ms": gnomon.get("late_p99_ms"),
        "heap_sqlite_fires_per_s": h_rate,
        "ratio": ratio,
        "cpu_us_per_fire": {
            "trio_thread": gnomon.get("cpu_us_per_fire_trio"),
            "store_thread": gnomon.get("cpu_us_per_fire_store"),
        },
        "created_before_due": gnomon.get("created_before_due"),
        "booted_before_due": gnomon.get("booted_before_due"),
        "gnomon": {k: v for k, v in gnomon.items() if k not in strip},
        "heap_sqlite": {k: v for k, v in heap.items() if k not in strip},
    }


def compare(on: dict[str, Any], off: dict[str, Any], heap: dict[str, Any]) -> dict[str, Any]:
    """``--compare``'s JSON object: batch on, batch off and the raw heap side by side."""

    def row(r: dict[str, Any]) -> dict[str, Any]:
        cpu = [r.get("cpu_us_per_fire_trio"), r.get("cpu_us_per_fire_store")]
        total = sum(c for c in cpu if isinstance(c, float)) if all(cpu) else None
        return {
            "fires_per_s": r.get("fires_per_s"),
            "p99_late_ms": r.get("late_p99_ms"),
            "cpu_us_per_fire_trio": cpu[0],
            "cpu_us_per_fire_store": cpu[1],
            "cpu_us_per_fire": total,
            "fired": r.get("fired"),
            "actor_activations": r.get("actor_activations"),
            "error": r.get("error"),
        }

    def ratio(a: dict[str, Any], b: dict[str, Any], key: str = "fires_per_s") -> float | None:
        x, y = a.get(key), b.get(key)
        return x / y if isinstance(x, float) and isinstance(y, float) and y else None

    return {
        "n": on.get("expected") or off.get("expected"),
        "created_before_due": bool(on.get("created_before_due") and off.get("created_before_due")),
        "batch_on": row(on),
        "batch_off": row(off),
        "heap_sqlite": {"fires_per_s": heap.get("fires_per_s"), "error": heap.get("error")},
        "ratio_on_to_heap": ratio(on, heap),
        "ratio_off_to_heap": ratio(off, heap),
        "speedup_on_vs_off": ratio(on, off),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--json", action="store_true", help="one JSON line (else indented)")
    p.add_argument("--compare", action="store_true", help="batch firing on vs off vs heap")
    p.add_argument("--child", choices=["gnomon"], help=argparse.SUPPRESS)
    p.add_argument("--batch", choices=["on", "off"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        emit(gnomon_child(a.n, None if a.batch is None else a.batch == "on"))
        return
    child = ["-m", "bench.storm", "--child", "gnomon", "--n", str(a.n)]
    heap_argv = ["-m", "bench.wl_trio", "W1", "--variant", "heap-sqlite", "--n", str(a.n)]
    if a.compare:
        on = _child([*child, "--batch", "on"])
        off = _child([*child, "--batch", "off"])
        heap = _child(heap_argv)
        print(json.dumps(compare(on, off, heap), indent=None if a.json else 2))
        return
    gnomon = _child(child)
    heap = _child(heap_argv)
    print(json.dumps(summary(gnomon, heap), indent=None if a.json else 2))


if __name__ == "__main__":
    main()
