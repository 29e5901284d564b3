"""W4's work per fire in virtual time: a steady figure for the engine's CPU per fire.

``python -m bench.cycle --n 300 --every 0.1 --duration 10`` runs W4's workload (``n``
interval jobs sharing one anchor, every ``every`` s) in *virtual* time
(``trio.testing.MockClock(autojump_threshold=0)``) over a real SQLite file whose store runs
inline on the trio thread (``SqliteStore(inline=True)``, as the engine tests run it). Every
fire, its claim, its run, its events and its end are the real engine's and the real
store's, on one thread, and no fire is ever late or skipped — so the CPU the process spends
per fire (``time.thread_time``) is the whole work of a W4 fire (both of the daemon's
threads' Python and SQLite's C), without the machine's scheduling noise and without the
GIL hand-offs between the two threads. Use it to compare two versions of the engine side by
side; W4 itself (``bench/wl_gnomon.py``) is still the workload's real-time measure.

``--profile FILE`` writes a cProfile of the firing window (deterministic call counts: what
runs how often per fire).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio
import trio.testing

from bench.gnomon_world import LIMITS, NOOP, OWNER, NeverEvaluator, RecordingExecutor
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.tree import EngineConfig, EnginePorts, EngineTree
from gnomon.runtime import Supervisor, gc_tuning
from gnomon.runtime.clock import VirtualClock
from gnomon.runtime.event_bus import EventBus
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.store import EventQuery
from gnomon.runtime.store.sqlite import SqliteStore

EPOCH = datetime(2030, 1, 1, tzinfo=UTC)


async def cycle(db: Path, n: int, every: float, duration: float, profile: str) -> dict[str, Any]:
    """Create ``n`` jobs, let them fire for ``duration`` virtual seconds, and return the
    fires and the thread's CPU per fire over that window."""
    gc_tuning.tune()
    metrics = Metrics()

    async def history(query: EventQuery) -> list[Event]:
        return await store.events(query)

    bus = EventBus(history, listeners=(metrics.observe_event,))
    store = SqliteStore(
        str(db), inline=True, observe_commit=metrics.store_commit.observe, publish=bus.publish
    )
    executor = RecordingExecutor()
    async with trio.open_nursery() as nursery:
        await nursery.start(Supervisor("infra", children=[store.writer_spec()]).run)
        await store.begin_boot("cycle", EPOCH)
        ports = EnginePorts(
            persistence=StorePersistence(store),
            executor=executor,
            evaluator=NeverEvaluator(),
            clock=VirtualClock(EPOCH),
            metrics=metrics,
        )
        tree = EngineTree(ports, EngineConfig(admission=LIMITS, max_concurrency=64))
        await nursery.start(tree.run)
        sched = IntervalSchedule(every=every, anchor=EPOCH + timedelta(seconds=60))
        for i in range(n):
            spec = JobSpec(name=f"churn-{i}", schedule=sched, action=NOOP, i_know=True)
            await tree.engine.create(spec, OWNER)
        await trio.sleep(60 + every / 2 - trio.current_time())  # half a period before
        prof = cProfile.Profile() if profile else None
        fired, cpu = len(executor.fires), time.thread_time()
        if prof is not None:
            prof.enable()
        await trio.sleep(duration)
        if prof is not None:
            prof.disable()
            prof.dump_stats(profile)
        cpu, fired = time.thread_time() - cpu, len(executor.fires) - fired
        nursery.cancel_scope.cancel()
    store.close()
    nominal = n * round(duration / every)
    return {
        "jobs": n,
        "fires": fired,
        "nominal": nominal,
        "cpu_us_per_fire": 1e6 * cpu / max(fired, 1),
        "transactions": store.transactions,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--profile", default="", help="write a cProfile of the window here")
    p.add_argument("--db", default="", help="keep the database here (a new file)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="gnomon-cycle-") as tmp:
        db = Path(a.db or Path(tmp) / "gnomon.db")
        clock = trio.testing.MockClock(autojump_threshold=0)
        res = trio.run(cycle, db, a.n, a.every, a.duration, a.profile, clock=clock)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
