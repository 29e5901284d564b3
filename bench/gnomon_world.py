"""A whole gnomon engine in this process, on the real clock, over a durable store.

What the daemon runs minus the gateway: :class:`SqliteStore` on a file with its worker
thread and writer actor, the event bus, and the engine tree with the real time model and
breaker keys. Only the executor is ours — :class:`RecordingExecutor` notes the wall time
at which each action starts and succeeds at once — so a "fire" is what APScheduler calls
running a job: the moment the action is handed to the executor (the slot's claim and its
``job.fired`` event are committed before that).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import trio

from bench.common import now
from bench.pg import open_store
from gnomon.actors.admission import AdmissionConfig
from gnomon.actors.exec.interface import ActionResult, PollContext, RunContext, Verdict
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.recovery import recover
from gnomon.actors.tree import EngineConfig, EnginePorts, EngineTree
from gnomon.runtime import Supervisor, gc_tuning
from gnomon.runtime.clock import SystemClock
from gnomon.runtime.event_bus import EventBus
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.actions import Action, ShellAction
from gnomon.runtime.model.bounds import INTERVAL_FLOOR
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.enums import Outcome, OwnerKind
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import Schedule
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store import EventQuery
from gnomon.runtime.store.daemon_store import DaemonStore

OWNER = Owner(kind=OwnerKind.USER, id="bench")
NOOP = ShellAction(command="true")
LIMITS = AdmissionConfig(
    global_rps=1e9,
    global_burst=1e9,
    owner_rps=1e9,
    owner_burst=1e9,
    max_jobs=10_000_000,
    min_interval=INTERVAL_FLOOR,  # W4 runs 100 ms intervals (limits.min_interval)
)


@attrs.define
class RecordingExecutor:
    """Notes ``(job id, fire time, wall time)`` of every action start; succeeds at once."""

    fires: list[tuple[str, datetime, float]] = attrs.field(factory=list)
    done: trio.Event | None = None
    expect: int = 0

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        self.fires.append((ctx.job_id, ctx.fire_time, now()))
        if self.done is not None and len(self.fires) >= self.expect:
            self.done.set()
        return ActionResult(outcome=Outcome.SUCCESS)

    def wait_for(self, n: int) -> trio.Event:
        self.expect, self.done = n, trio.Event()
        if len(self.fires) >= n:
            self.done.set()
        return self.done


class NeverEvaluator:
    async def evaluate(self, condition: Condition, ctx: PollContext) -> Verdict:
        return Verdict(value=True)


@attrs.define
class World:
    tree: EngineTree
    store: DaemonStore
    bus: EventBus
    executor: RecordingExecutor

    async def create(self, name: str, schedule: Schedule) -> JobState:
        spec = JobSpec(name=name, schedule=schedule, action=NOOP, i_know=True)
        return await self.tree.engine.create(spec, OWNER)


@asynccontextmanager
async def world(
    db: Path | str,
    *,
    max_concurrency: int = 64,
    boot_id: str = "bench",
    batch_firing: bool | None = None,
) -> AsyncIterator[World]:
    """A running engine over the store at ``db`` (an SQLite file or a PostgreSQL URL;
    fresh, or left by an earlier world: then pass another ``boot_id``, and the engine boots
    on its jobs as a restarted daemon would); the boot is ended cleanly and everything
    cancelled on exit. ``batch_firing`` overrides ``engine.batch_firing``'s default.

    The collector is tuned as the daemon tunes it (:mod:`gnomon.runtime.gc_tuning`).
    """
    gc_tuning.tune()
    metrics = Metrics()

    async def history(query: EventQuery) -> list[Event]:
        return await store.events(query)  # the store is built next, publishing to the bus

    bus = EventBus(history, listeners=(metrics.observe_event,))
    store = open_store(db, observe_commit=metrics.store_commit.observe, publish=bus.publish)
    executor = RecordingExecutor()
    async with trio.open_nursery() as nursery:
        await nursery.start(Supervisor("infra", children=[store.writer_spec()]).run)
        await store.begin_boot(boot_id, datetime.now(UTC))
        tree = EngineTree(
            EnginePorts(
                persistence=StorePersistence(store),
                executor=executor,
                evaluator=NeverEvaluator(),
                clock=SystemClock(),
                metrics=metrics,
            ),
            EngineConfig(admission=LIMITS, max_concurrency=max_concurrency)
            if batch_firing is None
            else EngineConfig(
                admission=LIMITS, max_concurrency=max_concurrency, batch_firing=batch_firing
            ),
        )
        await nursery.start(tree.run)
        await recover(tree.directory, StorePersistence(store), boot_id=boot_id)
        try:
            yield World(tree, store, bus, executor)
            await store.end_boot(boot_id, datetime.now(UTC))
        finally:
            nursery.cancel_scope.cancel()
    store.close()


async def create_all(w: World, specs: list[tuple[str, Schedule]], concurrency: int = 256) -> None:
    """Create jobs ``concurrency`` at a time (the store group-commits their saves)."""
    it = iter(specs)

    async def worker() -> None:
        for name, schedule in it:
            await w.create(name, schedule)

    async with trio.open_nursery() as n:
        for _ in range(concurrency):
            n.start_soon(worker)


def unused(*_: Any) -> None:
    return None
