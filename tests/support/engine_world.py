"""A whole engine in virtual time: the real store (inline), the real time model and
breaker keys, and scripted executors/evaluators at the outside edge."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import trio
from support.scripted import ScriptedEvaluator, ScriptedExecutor

from gnomon.actors.persistence import StorePersistence
from gnomon.actors.tree import EngineConfig, EnginePorts, EngineTree
from gnomon.runtime import Supervisor, VirtualClock
from gnomon.runtime.event_bus import EventBus
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.enums import OwnerKind
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store import EventQuery
from gnomon.runtime.store.sqlite import SqliteStore

EPOCH = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
ALICE = Owner(kind=OwnerKind.USER, id="alice")
#: ``GNOMON_TEST_BATCH_FIRING=0`` (or ``1``) runs every engine world with the batch
#: firer off (on), whatever config the test gives; unset, the config decides (on by
#: default: ``engine.batch_firing``).
BATCH_FIRING = {"0": False, "1": True}.get(os.environ.get("GNOMON_TEST_BATCH_FIRING", ""))


@attrs.define
class World:
    """Handles on a running engine."""

    tree: EngineTree
    store: SqliteStore
    bus: EventBus
    metrics: Metrics
    executor: Any
    evaluator: Any
    clock: VirtualClock

    async def create(self, spec: JobSpec, **kw: Any) -> JobState:
        return await self.tree.engine.create(spec, kw.pop("owner", ALICE), **kw)

    async def get(self, ref: str) -> JobState:
        return await self.tree.engine.get(ref)

    async def events(self, job_id: str | None = None) -> list[Event]:
        return await self.store.events(EventQuery(limit=100_000, job_id=job_id))

    async def types(self, job_id: str | None = None) -> list[str]:
        return [e.type.value for e in await self.events(job_id)]


async def make_world(
    nursery: trio.Nursery,
    tmp_path: Path,
    *,
    executor: Any = None,
    evaluator: Any = None,
    config: EngineConfig | None = None,
    epoch: datetime = EPOCH,
    boot: str = "test-boot",
    **ports: Any,
) -> World:
    """Start store, bus and engine in ``nursery`` (call inside an autojump test); a
    second world over the same store (a restart) needs another ``boot`` id."""
    metrics = Metrics()

    async def history(query: EventQuery) -> list[Event]:
        return await store.events(query)  # the store is built next, publishing to the bus

    bus = EventBus(history, listeners=(metrics.observe_event,))
    store = SqliteStore(
        str(tmp_path / "gnomon.db"),
        inline=True,
        observe_commit=metrics.store_commit.observe,
        publish=bus.publish,
    )
    await nursery.start(Supervisor("infra", children=[store.writer_spec()]).run)
    await store.begin_boot(boot, epoch)
    clock = VirtualClock(epoch)
    executor = executor or ScriptedExecutor()
    evaluator = evaluator or ScriptedEvaluator()
    if BATCH_FIRING is not None:
        config = attrs.evolve(config or EngineConfig(), batch_firing=BATCH_FIRING)
    tree = EngineTree(
        EnginePorts(
            persistence=StorePersistence(store),
            executor=executor,
            evaluator=evaluator,
            clock=clock,
            metrics=metrics,
            **ports,
        ),
        config,
    )
    await nursery.start(tree.run)
    return World(tree, store, bus, metrics, executor, evaluator, clock)
