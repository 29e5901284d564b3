"""A job far behind its schedule catches up arithmetically (virtual time, real store):
the slots older than the newest ``MAX_CATCH_UP`` are dropped as one counted event, never
walked one by one, and ``fire_all`` replays at most ``MAX_CATCH_UP`` of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import trio
from support.engine_world import EPOCH, World, make_world
from support.scripted import ScriptedExecutor

from gnomon.actors.admission import AdmissionConfig
from gnomon.actors.core.job.slots import MAX_CATCH_UP
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.recovery import recover
from gnomon.actors.tree import EngineConfig
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import JobStatus, Misfire, Overlap
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import IntervalSchedule

FAST = EngineConfig(admission=AdmissionConfig(min_interval=0.01))
DOWN = timedelta(days=2)


async def created_then_down(tmp_path: Path, spec: JobSpec) -> str:
    """Create ``spec`` at EPOCH, run half a second, stop the engine; the job's id."""
    async with trio.open_nursery() as nursery:
        first = await make_world(nursery, tmp_path, config=FAST, executor=instant())
        job = await first.create(spec)
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    first.store.close()
    return job.id


def instant() -> ScriptedExecutor:
    """Runs that end at once (nothing is in flight when the engine stops)."""
    return ScriptedExecutor(duration=0)


def interval_spec(every: float, **kw: Any) -> JobSpec:
    return JobSpec(
        name="fast",
        schedule=IntervalSchedule(every=every, anchor=EPOCH),
        action=NoopAction(),
        **kw,
    )


async def restart(nursery: trio.Nursery, tmp_path: Path) -> World:
    """The engine again over the same store, ``DOWN`` after EPOCH, recovered as at boot."""
    w = await make_world(
        nursery, tmp_path, config=FAST, epoch=EPOCH + DOWN, boot="again", executor=instant()
    )
    await recover(w.tree.directory, StorePersistence(w.store), boot_id="again", now=w.clock.now())
    return w


async def test_fire_all_replays_only_the_newest_slots(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Every second for two days missed: one job.skipped counts the 172,700-odd oldest
    slots, then exactly MAX_CATCH_UP missed slots fire, then the schedule goes on."""
    spec = interval_spec(1.0, misfire=Misfire.FIRE_ALL, overlap=Overlap.ALLOW)
    job_id = await created_then_down(tmp_path, spec)
    async with trio.open_nursery() as nursery:
        w = await restart(nursery, tmp_path)
        await trio.sleep(0.5)
        events = await w.events(job_id)
        skipped = [e for e in events if e.type == "job.skipped"]
        fired = [e for e in events if e.type == "job.fired" and e.timestamp >= EPOCH + DOWN]
        assert len(skipped) == 1
        assert skipped[0].payload["reason"] == "misfire"
        assert skipped[0].payload["missed"] == DOWN.total_seconds() - MAX_CATCH_UP
        assert len(fired) == MAX_CATCH_UP
        assert fired[-1].payload["fire_time"] == (EPOCH + DOWN).isoformat()
        await trio.sleep(3)
        assert (await w.get(job_id)).status is not JobStatus.FAILED
        nursery.cancel_scope.cancel()


async def test_ten_ms_job_down_two_days_fires_once(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A 10 ms job (17 million missed slots) under fire_once: one counted bulk skip up to
    the newest MAX_CATCH_UP slots, those judged one by one, and only the latest fires."""
    job_id = await created_then_down(tmp_path, interval_spec(0.01, misfire_grace=0))
    async with trio.open_nursery() as nursery:
        w = await restart(nursery, tmp_path)
        await trio.sleep(0.001)
        events = await w.events(job_id)
        late = [e for e in events if e.timestamp >= EPOCH + DOWN]
        (bulk,) = [e for e in late if e.type == "job.skipped" and "missed" in e.payload]
        first = datetime.fromisoformat(bulk.payload["fire_time"])
        until = datetime.fromisoformat(bulk.payload["until"])
        assert until == EPOCH + DOWN - (MAX_CATCH_UP - 1) * timedelta(milliseconds=10)
        assert bulk.payload["missed"] == round((until - first) / timedelta(milliseconds=10))
        assert bulk.payload["missed"] > 17_000_000
        one_by_one = [e for e in late if e.type == "job.skipped" and "missed" not in e.payload]
        assert len(one_by_one) == MAX_CATCH_UP - 1
        assert {e.payload["reason"] for e in one_by_one} == {"misfire"}
        fired = [e.payload["fire_time"] for e in late if e.type == "job.fired"]
        assert fired[0] == (EPOCH + DOWN).isoformat()
        nursery.cancel_scope.cancel()
