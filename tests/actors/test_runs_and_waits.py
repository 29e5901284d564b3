"""Runs (slot, breaker, handshake, timeout) and wait-pollers, in virtual time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import trio
import trio.testing
from support.scripted import ScriptedEvaluator, ScriptedExecutor

from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.exec.interface import ActionResult, RunContext, Verdict
from gnomon.actors.job.perform import RunDeps, RunPlan, perform_run
from gnomon.actors.wait_pollers import WaitPollers
from gnomon.actors.waiter import PollReport, WaitPlan
from gnomon.runtime import Registry, Strategy, Supervisor, VirtualClock
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import Outcome, OwnerKind
from gnomon.runtime.model.events import EventDraft
from gnomon.runtime.model.job import Owner

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
OWNER = Owner(kind=OwnerKind.USER, id="alice")


async def breakers_for(nursery: trio.Nursery, clock: VirtualClock) -> Breakers:
    registry = Registry()
    sup = await nursery.start(
        Supervisor("b", strategy=Strategy.SIMPLE_ONE_FOR_ONE, registry=registry).run
    )

    async def emit(drafts: Sequence[EventDraft]) -> None:
        return None

    return Breakers(supervisor=sup, registry=registry, emit=emit, clock=clock)


def plan(run_id: str, timeout: float = 10.0, key: str = "shell:true") -> RunPlan:
    ctx = RunContext(
        job_id="j",
        job_name="job",
        run_id=run_id,
        fire_time=EPOCH,
        attempt=1,
        owner=OWNER,
        timeout=timeout,
    )
    return RunPlan(context=ctx, action=NoopAction(), breaker_key=key)


async def test_run_succeeds_and_times_out_exactly(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A run returns the executor's result; past its timeout it ends `timeout` exactly."""
    clock = VirtualClock(EPOCH)
    executor = ScriptedExecutor(duration=3)
    deps = RunDeps(
        executor=executor,
        breakers=await breakers_for(nursery, clock),
        clock=clock,
        concurrency=trio.CapacityLimiter(32),
    )
    end = await perform_run(plan("r1"), deps)
    assert end is not None
    assert end.outcome is Outcome.SUCCESS
    t0 = trio.current_time()
    end = await perform_run(plan("r2", timeout=2), deps)
    assert end is not None
    assert end.outcome is Outcome.TIMEOUT
    assert trio.current_time() - t0 == 2
    assert executor.calls[-1].cancelled


async def test_open_breaker_refuses_without_touching_target(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Five failures open the target's breaker; the next run ends breaker_open, no call."""
    clock = VirtualClock(EPOCH)
    executor = ScriptedExecutor(
        results=[ActionResult(outcome=Outcome.FAILED, exit_code=1, breaker_failure=True)],
        duration=0.1,
    )
    deps = RunDeps(
        executor=executor,
        breakers=await breakers_for(nursery, clock),
        clock=clock,
        concurrency=trio.CapacityLimiter(32),
    )
    for i in range(5):
        await perform_run(plan(f"r{i}"), deps)
    await trio.testing.wait_all_tasks_blocked()
    end = await perform_run(plan("r5"), deps)
    assert end is not None
    assert end.outcome is Outcome.BREAKER_OPEN
    assert end.retry_after is not None
    assert 29 < end.retry_after <= 30
    assert len(executor.calls) == 5


async def test_concurrency_limit_queues_in_order(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """With one slot, runs execute one after another in arrival order."""
    clock = VirtualClock(EPOCH)
    executor = ScriptedExecutor(duration=5)
    deps = RunDeps(
        executor=executor,
        breakers=await breakers_for(nursery, clock),
        clock=clock,
        concurrency=trio.CapacityLimiter(1),
    )
    async with trio.open_nursery() as runs:
        for i in range(3):
            runs.start_soon(perform_run, plan(f"r{i}", key=f"k{i}"), deps)
            await trio.testing.wait_all_tasks_blocked()
    assert [(c.run_id, c.started) for c in executor.calls] == [
        ("r0", 0.0),
        ("r1", 5.0),
        ("r2", 10.0),
    ]


async def test_run_killed_while_queued_never_executes(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A run cancelled while it waits for a concurrency slot never reaches the executor."""
    clock = VirtualClock(EPOCH)
    executor = ScriptedExecutor(duration=5)
    deps = RunDeps(
        executor=executor,
        breakers=await breakers_for(nursery, clock),
        clock=clock,
        concurrency=trio.CapacityLimiter(1),
    )
    queued = trio.CancelScope()

    async def second() -> None:
        with queued:
            await perform_run(plan("r2", key="k2"), deps)

    async with trio.open_nursery() as runs:
        runs.start_soon(perform_run, plan("r1", key="k1"), deps)
        await trio.testing.wait_all_tasks_blocked()
        runs.start_soon(second)
        await trio.testing.wait_all_tasks_blocked()
        queued.cancel()
    assert queued.cancelled_caught
    assert [c.run_id for c in executor.calls] == ["r1"]


def pollers(
    sup: Supervisor,
    evaluator: ScriptedEvaluator,
    breakers: Breakers,
    clock: VirtualClock,
    reports: list[PollReport],
) -> WaitPollers:
    """Shared pollers whose every result — delivered or only notified — lands in
    ``reports``."""

    async def deliver(job_id: str, r: PollReport) -> None:
        reports.append(r)

    return WaitPollers(
        supervisor=sup,
        evaluator=evaluator,
        breakers=breakers,
        clock=clock,
        deliver=deliver,
        notify=lambda plan, r: reports.append(r),
    )


async def test_poller_polls_on_a_fixed_grid_and_reports(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Polls happen every interval from the start, even when a poll is slow."""
    clock = VirtualClock(EPOCH)
    breakers = await breakers_for(nursery, clock)
    evaluator = ScriptedEvaluator(verdicts=[Verdict(value=False)], duration=2)
    reports: list[PollReport] = []
    sup = await nursery.start(Supervisor("w", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
    waits = pollers(sup, evaluator, breakers, clock, reports)
    wp = WaitPlan(
        job_id="j",
        job_name="job",
        owner=OWNER,
        cycle=1,
        condition=TcpCondition(host="db", port=5432),
        poll_interval=5,
        breaker_key="tcp:db:5432",
    )
    waits.start(wp)
    await trio.sleep(16)
    assert evaluator.polls == [0.0, 5.0, 10.0, 15.0]
    assert [r.poll for r in reports] == [1, 2, 3]
    assert all(r.verdict.value is False for r in reports)
    waits.stop("j", 1)
    await trio.sleep(100)
    assert len(evaluator.polls) == 4


async def test_poller_skips_target_while_breaker_open(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Polls refused by an open breaker are reported as such and never reach the target."""
    clock = VirtualClock(EPOCH)
    breakers = await breakers_for(nursery, clock)
    for _ in range(5):
        await breakers.permit("tcp:db:5432")
        breakers.report("tcp:db:5432", failure=True, probe=False)
    evaluator = ScriptedEvaluator()
    reports: list[PollReport] = []
    sup = await nursery.start(Supervisor("w", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
    waits = pollers(sup, evaluator, breakers, clock, reports)
    wp = WaitPlan(
        job_id="j",
        job_name="job",
        owner=OWNER,
        cycle=1,
        condition=TcpCondition(host="db", port=5432),
        poll_interval=5,
        breaker_key="tcp:db:5432",
    )
    waits.start(wp)
    await trio.sleep(26)
    assert evaluator.polls == []
    assert all(r.breaker_open for r in reports)
    assert "breaker tcp:db:5432 is open" in reports[0].verdict.summary
    await trio.sleep(10)
    assert evaluator.polls == [30.0, 35.0]
