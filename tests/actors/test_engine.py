"""The engine end to end in virtual time: issue 6's scenarios, asserted on the event log.

Real store (inline executor), real time model, real breakers and supervisors; only the
outside world (processes, HTTP) is scripted (tests/support/scripted.py).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from prometheus_client import generate_latest
from support.engine_world import EPOCH, make_world
from support.scripted import ScriptedEvaluator, ScriptedExecutor

from gnomon.actors.exec.interface import ActionResult, RunContext, Verdict
from gnomon.runtime.errors import Conflict, GnomonError, SupervisorGaveUp
from gnomon.runtime.model.actions import Action, NoopAction, ShellAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import JobStatus, OnTimeout, Outcome
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec
from gnomon.runtime.model.schedule import CronSchedule, IntervalSchedule, OnceSchedule

FAIL = ActionResult(outcome=Outcome.FAILED, exit_code=1, breaker_failure=True)


def once(seconds: float = 0.0) -> OnceSchedule:
    return OnceSchedule(at=EPOCH + timedelta(seconds=seconds))


def spec(name: str, **kw: Any) -> JobSpec:
    return JobSpec(
        name=name, schedule=kw.pop("schedule", once()), action=kw.pop("action", NoopAction()), **kw
    )


async def test_cron_every_five_minutes_fires_twelve_times_in_an_hour(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """*/5 for one hour: exactly 12 fires, at :00, :05, …, each slot once."""
    epoch = datetime(2026, 11, 2, 9, 59, 59, tzinfo=UTC)
    w = await make_world(nursery, tmp_path, epoch=epoch)
    job = await w.create(spec("tick", schedule=CronSchedule(expr="*/5 * * * *", tz="UTC")))
    await trio.sleep(3600)
    fired = [e for e in await w.events(job.id) if e.type == "job.fired"]
    assert [datetime.fromisoformat(e.payload["fire_time"]).minute for e in fired] == list(
        range(0, 60, 5)
    )
    assert [c.started for c in w.executor.calls] == [1 + 300 * i for i in range(12)]
    assert await w.store.count("fires") == 12


async def test_retries_three_times_from_ten_seconds(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Retry 3× from a 10 s base (no jitter): attempts at t = 0, 10, 30, 70."""
    ok = ActionResult(outcome=Outcome.SUCCESS)
    w = await make_world(
        nursery, tmp_path, executor=ScriptedExecutor(results=[FAIL] * 3 + [ok], duration=0)
    )
    job = await w.create(
        spec("r", budget=Budget(max_retries=3, backoff_initial=10, backoff_jitter=0))
    )
    await trio.sleep(200)
    assert [c.started for c in w.executor.calls] == [0, 10, 30, 70]
    assert (await w.get(job.id)).status is JobStatus.COMPLETED
    assert (await w.types(job.id)).count("job.retry_queued") == 3


async def test_breaker_opens_refuses_half_opens_and_closes(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A probe failing every 10 s: the breaker opens after 5 failures, the target is not
    touched while it is open, one half-open probe goes through, and success closes it."""

    class Flaky(ScriptedExecutor):
        async def run(self, action: Action, ctx: RunContext) -> ActionResult:
            await super().run(action, ctx)
            return ActionResult(outcome=Outcome.SUCCESS) if trio.current_time() >= 75 else FAIL

    w = await make_world(nursery, tmp_path, executor=Flaky(duration=0))
    job = await w.create(
        spec(
            "probe",
            schedule=IntervalSchedule(every=10, anchor=EPOCH),
            action=ShellAction(command="curl api"),
            breaker="api:443",
            budget=Budget(max_retries=0),
        )
    )
    await trio.sleep(125)
    calls = [c.started for c in w.executor.calls]
    assert calls == [10, 20, 30, 40, 50, 80, 90, 100, 110, 120]  # nothing while open (50 → 80)
    breaker = [(e.type, e.timestamp) for e in await w.events() if e.type.startswith("breaker")]
    assert [t for t, _ in breaker] == ["breaker.opened", "breaker.half_open", "breaker.closed"]
    assert breaker[0][1] == EPOCH + timedelta(seconds=50)
    text = generate_latest(w.metrics.registry).decode()
    assert 'gnomon_breaker_state{key="api:443"} 0.0' in text
    assert (await w.get(job.id)).status is JobStatus.PENDING


async def test_pause_during_a_run_lets_it_finish_and_claims_nothing_more(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Pausing while a run is in flight: the run completes, no further slot is claimed."""
    w = await make_world(nursery, tmp_path, executor=ScriptedExecutor(duration=50))
    job = await w.create(spec("p", schedule=IntervalSchedule(every=60, anchor=EPOCH)))
    await trio.sleep(70)
    await w.tree.engine.command(job.id, "pause", reason="maintenance")
    await trio.sleep(600)
    (call,) = w.executor.calls
    assert call.ended == 110
    assert not call.cancelled
    assert await w.store.count("fires") == 11  # 1 run + 10 recorded as paused skips
    # coalesced (docs/engine.md): the 10 paused skips are announced when the pause ends
    assert [e for e in await w.events(job.id) if e.type == "job.skipped"] == []
    assert (await w.get(job.id)).status is JobStatus.PAUSED


async def test_a_pause_announces_its_skipped_slots_once_and_counts_each(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """An hour paused on a 1-minute job: 60 slots claimed, one job.skipped at resume with
    count 60 and the first and last slot; gnomon_skips_total{reason="paused"} is 60."""
    w = await make_world(nursery, tmp_path)
    job = await w.create(spec("p", schedule=IntervalSchedule(every=60, anchor=EPOCH)))
    await trio.sleep(30)
    await w.tree.engine.command(job.id, "pause", reason="maintenance")
    await trio.sleep(3600)
    assert [e for e in await w.events(job.id) if e.type == "job.skipped"] == []
    await w.tree.engine.command(job.id, "resume")
    await trio.testing.wait_all_tasks_blocked()
    (skipped,) = [e for e in await w.events(job.id) if e.type == "job.skipped"]
    assert skipped.payload == {
        "reason": "paused",
        "count": 60,
        "first_slot": (EPOCH + timedelta(seconds=60)).isoformat(),
        "last_slot": (EPOCH + timedelta(seconds=3600)).isoformat(),
    }
    assert await w.store.count("fires") == 60  # each paused slot claimed, once
    text = generate_latest(w.metrics.registry).decode()
    assert 'gnomon_skips_total{reason="paused"} 60.0' in text
    assert (await w.get(job.id)).status is JobStatus.PENDING


async def test_timeout_kills_at_thirty_seconds(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A 30 s action timeout cancels the run at exactly t = 30; the job ends timed_out."""
    w = await make_world(nursery, tmp_path, executor=ScriptedExecutor(duration=1000))
    job = await w.create(spec("t", budget=Budget(max_retries=0, action_timeout=30)))
    await trio.sleep(100)
    (call,) = w.executor.calls
    assert (call.ended, call.cancelled) == (30, True)
    assert (await w.get(job.id)).status is JobStatus.TIMED_OUT
    (run,) = await w.store.runs(job.id)
    assert run.outcome is Outcome.TIMEOUT


async def test_wait_fire_anyway_runs_after_the_deadline(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A wait that never holds, with --on-timeout fire_anyway, runs the action at 60 s."""
    w = await make_world(
        nursery,
        tmp_path,
        executor=ScriptedExecutor(duration=1),
        evaluator=ScriptedEvaluator(verdicts=[Verdict(value=False)]),
    )
    job = await w.create(
        spec(
            "w",
            wait=WaitSpec(
                condition=TcpCondition(host="db", port=5432), on_timeout=OnTimeout.FIRE_ANYWAY
            ),
            budget=Budget(wait_timeout=60, poll_interval=5),
        )
    )
    await trio.sleep(100)
    assert [c.started for c in w.executor.calls] == [60]
    assert w.evaluator.polls[:12] == [5 * i for i in range(12)]
    assert max(w.evaluator.polls) <= 60  # none after the deadline (one may tie with it)
    assert (await w.get(job.id)).status is JobStatus.COMPLETED


async def test_dag_failure_propagates_to_every_dependent(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """canary → smoke → rollout → notify: smoke fails, so rollout and notify fail with
    `dependency failed: …`, transitively (reference bug 16.1.3)."""

    class SmokeFails(ScriptedExecutor):
        async def run(self, action: Action, ctx: RunContext) -> ActionResult:
            result = await super().run(action, ctx)
            return (
                ActionResult(outcome=Outcome.FAILED, exit_code=3)
                if ctx.job_name == "smoke"
                else result
            )

    w = await make_world(nursery, tmp_path, executor=SmokeFails(duration=1))
    ids = {}
    for name, dep in (
        ("canary", ()),
        ("smoke", ("canary",)),
        ("rollout", ("smoke",)),
        ("notify", ("rollout",)),
    ):
        job = await w.create(spec(name, depends_on=dep, budget=Budget(max_retries=0)))
        ids[name] = job.id
    await trio.sleep(60)
    states = {n: await w.get(i) for n, i in ids.items()}
    assert states["canary"].status is JobStatus.COMPLETED
    assert (states["smoke"].status, states["smoke"].message) == (JobStatus.FAILED, "exit code 3")
    assert states["rollout"].status is JobStatus.FAILED
    assert states["rollout"].message == "dependency failed: smoke ended failed"
    assert states["notify"].message == "dependency failed: rollout ended failed"


async def test_recurring_job_fires_again_after_a_failed_cycle(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A cycle that fails for good is recorded; the next slot still fires (16.1.9)."""
    w = await make_world(nursery, tmp_path, executor=ScriptedExecutor(results=[FAIL], duration=1))
    job = await w.create(
        spec(
            "rf",
            schedule=IntervalSchedule(every=600, anchor=EPOCH),
            budget=Budget(max_retries=1, backoff_initial=5, backoff_jitter=0),
        )
    )
    await trio.sleep(1300)
    assert [c.started for c in w.executor.calls] == [600, 606, 1200, 1206]
    assert (await w.types(job.id)).count("job.failed") == 2
    assert (await w.get(job.id)).status is JobStatus.PENDING


async def test_replace_keeps_id_history_and_refuses_a_clash(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """--replace updates the live job in place; without it a live name clashes."""
    w = await make_world(nursery, tmp_path)
    a = await w.create(spec("nightly", schedule=IntervalSchedule(every=600, anchor=EPOCH)))
    await trio.sleep(700)
    b = await w.create(
        spec("nightly", schedule=IntervalSchedule(every=60, anchor=EPOCH)), replace=True
    )
    assert b.id == a.id
    await trio.sleep(200)
    assert "job.updated" in await w.types(a.id)
    assert (await w.get(a.id)).cycle >= 4
    with pytest.raises(Conflict, match="already named"):
        await w.create(spec("nightly"))


class Faults:
    """Raises once at the n-th pass of a named point."""

    def __init__(self, point: str, nth: int) -> None:
        self.point, self.left, self.hits = point, nth, 0

    def __call__(self, name: str) -> None:
        if name == self.point:
            self.left -= 1
            if self.left == 0:
                self.hits += 1
                raise RuntimeError(f"injected fault at {name}")


@pytest.mark.parametrize(
    ("point", "nth"),
    [
        ("job.load", 1),
        ("job.before_save", 2),
        ("job.after_save", 2),
        ("job.after_save", 3),
        ("job.before_save", 4),
    ],
)
async def test_a_crashing_job_actor_loses_nothing_and_fires_each_slot_once(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path, point: str, nth: int
) -> None:
    """A fault at each step of the job actor restarts it; every slot fires exactly once
    and the crash is visible as actor.crashed / actor.restarted."""
    faults = Faults(point, nth)
    w = await make_world(nursery, tmp_path, executor=ScriptedExecutor(duration=1), fault=faults)
    job = await w.create(spec("f", schedule=IntervalSchedule(every=60, anchor=EPOCH)))
    await trio.sleep(200)
    assert faults.hits == 1
    fired = [e.payload["fire_time"] for e in await w.events(job.id) if e.type == "job.fired"]
    assert len(fired) == len(set(fired)) == 3
    assert len({c.run_id.rsplit(".", 1)[0] for c in w.executor.calls}) == 3
    types = await w.types()
    if point != "job.load":  # an activation failure is retried by the directory instead
        assert "actor.crashed" in types
        assert "actor.restarted" in types


async def test_a_crash_looping_job_actor_escalates_instead_of_limping(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A job actor that crashes at every load exhausts the jobs supervisor's restart
    intensity and the failure escalates out of the engine tree as one SupervisorGaveUp
    (the daemon's root, intensity 0, then exits non-zero) — it never limps on."""

    def always(name: str) -> None:
        if name == "job.load":
            raise RuntimeError("poisoned job")

    with pytest.RaisesGroup(
        pytest.RaisesExc(SupervisorGaveUp, match="significant child 'jobs'"),
        flatten_subgroups=True,
    ):
        async with trio.open_nursery() as nursery:
            w = await make_world(nursery, tmp_path, fault=always)
            with contextlib.suppress(GnomonError):
                await w.create(spec("poisoned", schedule=OnceSchedule(at=EPOCH)))
            await trio.sleep(3600)
            raise AssertionError("the tree kept running with a crash-looping actor")


async def test_a_run_is_committed_started_with_its_claim_before_the_executor_runs(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """One unit of work claims the slot, records the run and marks the fire started: when
    the executor is called, all three are in the store, so a crash from then on finds
    an orphan to retry, never a run to re-issue blindly."""
    seen: list[tuple[bool, bool, bool]] = []
    world: list[Any] = []

    class Inspecting(ScriptedExecutor):
        async def run(self, action: Action, ctx: RunContext) -> ActionResult:
            w = world[0]
            state = await w.store.get_job(ctx.job_id)
            records = await w.store.runs(ctx.job_id)
            seen.append(
                (
                    await w.store.fire_claimed(ctx.job_id, ctx.fire_time),
                    [r.run_id for r in records if r.finished_at is None] == [ctx.run_id],
                    [f.started for f in state.fires] == [True],
                )
            )
            return await super().run(action, ctx)

    w = await make_world(nursery, tmp_path, executor=Inspecting())
    world.append(w)
    txs = w.store.transactions
    job = await w.create(spec("one", schedule=once(5)))
    await trio.sleep(10)
    assert seen == [(True, True, True)]
    assert (await w.get(job.id)).status is JobStatus.COMPLETED
    assert w.store.transactions - txs == 3  # create, claim+start, end
