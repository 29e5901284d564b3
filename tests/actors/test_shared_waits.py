"""Waits as heap entries of shared pollers, in virtual time: unchanged polls write
nothing durable, waiting jobs passivate, many waits share one poller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
import trio.testing
from support.engine_world import EPOCH, make_world
from support.scripted import ScriptedEvaluator, ScriptedExecutor

from gnomon.actors.exec.interface import Verdict
from gnomon.actors.tree import EngineConfig
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventDraft
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec
from gnomon.runtime.model.schedule import OnceSchedule


def waiting(name: str, **budget: Any) -> JobSpec:
    return JobSpec(
        name=name,
        schedule=OnceSchedule(at=EPOCH),
        action=NoopAction(),
        wait=WaitSpec(condition=TcpCondition(host="db", port=5432)),
        budget=Budget(**{"poll_interval": 5, "wait_timeout": 3600, **budget}),
    )


async def test_unchanged_polls_are_kept_in_memory_and_saved_at_the_bound(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Poll 1 is a durable tick; polls 2.. with the same result are ephemeral
    notifications only (the job passivates; `jobs show` still counts them); the count is
    saved quietly every ``wait_save_every`` (stretched by up to half, per job); poll 30
    holds and ends the wait."""
    notified: list[EventDraft] = []
    evaluator = ScriptedEvaluator(
        decide=lambda n: Verdict(value=n >= 30, summary="up" if n >= 30 else "refused")
    )
    w = await make_world(
        nursery,
        tmp_path,
        evaluator=evaluator,
        executor=ScriptedExecutor(duration=0),
        config=EngineConfig(wait_save_every=60),
        notify=lambda make: notified.append(make()),
    )
    job = await w.create(waiting("gate"))
    await trio.sleep(52)  # polls at 0, 5, …, 50
    assert len(evaluator.polls) == 11
    assert (await w.types(job.id)).count("job.wait_tick") == 1
    assert [d.payload["poll"] for d in notified] == list(range(2, 12))
    assert all(d.payload["ephemeral"] is True for d in notified)
    stored = await w.store.get_job(job.id)
    assert stored is not None
    assert stored.fires[0].wait is not None
    assert stored.fires[0].wait.polls == 1
    shown = (await w.get(job.id)).fires[0].wait
    assert shown is not None
    assert (shown.polls, shown.last_result) == (11, "refused")
    assert w.tree.directory.active(job.id) is None  # passivated while it waits
    await trio.sleep(44)  # the first poll 60–90 s after the last save is saved quietly
    stored = await w.store.get_job(job.id)
    assert stored is not None
    assert stored.fires[0].wait is not None
    assert 13 <= stored.fires[0].wait.polls <= 19
    assert (await w.types(job.id)).count("job.wait_tick") == 1
    await trio.sleep(60)
    events = await w.events(job.id)
    (held,) = [e for e in events if e.type == "job.wait_satisfied"]
    assert held.payload["poll"] == 30
    assert (await w.get(job.id)).status is JobStatus.COMPLETED
    assert [e.type.value for e in events].count("job.wait_tick") == 1


async def test_a_changed_result_is_durable_and_a_timeout_counts_every_poll(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """false → error → false are three durable ticks; the timeout names all polls."""
    script = {1: False, 2: False, 3: None, 4: None, 5: False}
    evaluator = ScriptedEvaluator(
        decide=lambda n: Verdict(value=script.get(n, False), summary="", transient=True)
    )
    w = await make_world(nursery, tmp_path, evaluator=evaluator)
    job = await w.create(waiting("flappy", wait_timeout=61))
    await trio.sleep(100)
    events = await w.events(job.id)
    ticks = [e.payload["result"] for e in events if e.type == "job.wait_tick"]
    assert ticks == ["false", "error", "false"]
    (timed_out,) = [e for e in events if e.type == "job.timed_out"]
    assert "(13 poll(s)" in timed_out.message
    assert (await w.get(job.id)).status is JobStatus.TIMED_OUT


async def test_many_waits_share_one_poller_and_stay_on_their_grid(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """300 waits of one kind: one poller actor, no job actor, each polled every 5 s."""
    evaluator = ScriptedEvaluator(verdicts=[Verdict(value=False)])
    w = await make_world(nursery, tmp_path, evaluator=evaluator)
    for i in range(300):
        await w.create(waiting(f"w{i}"), internal=True)  # past the create rate limit
    await trio.sleep(31)
    assert len(evaluator.polls) == 300 * 7  # at 0, 5, …, 30
    assert sorted(set(evaluator.polls)) == [5.0 * i for i in range(7)]
    kinds = [ref.kind for ref in w.tree.registry.of_all()]
    assert kinds.count("wait") == 1
    assert kinds.count("job") == 0
    assert len(w.tree.waits) == 300


async def test_a_crashed_poller_is_restarted_and_polls_on(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """An evaluator bug crashes the kind's poller; its supervisor restarts it and every
    wait in the book goes on being polled (the crash report is an event)."""

    def decide(n: int) -> Verdict:
        if n == 2:
            raise RuntimeError("evaluator bug")
        return Verdict(value=n >= 6, summary="held" if n >= 6 else "refused")

    w = await make_world(nursery, tmp_path, evaluator=ScriptedEvaluator(decide=decide))
    job = await w.create(waiting("survivor"))
    await trio.sleep(60)
    assert (await w.get(job.id)).status is JobStatus.COMPLETED
    types = await w.types()
    assert "actor.crashed" in types
    (held,) = [e for e in await w.events(job.id) if e.type == "job.wait_satisfied"]
    assert held.payload["poll"] >= 5
