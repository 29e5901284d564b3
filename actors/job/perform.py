"""One run: take a concurrency slot, pass the breaker, execute under the timeout.

A run is a task in its job actor's nursery (not an actor): cancelling it — ``jobs
cancel``, ``cancel_previous``, shutdown — cancels the executor, which kills the action's
process group. Its start was committed with the step that dispatched it, before this task
existed (:mod:`gnomon.actors.job.run_tracker`), so nothing here waits for the store:

1. wait for a slot of the global concurrency limit (a fair FIFO queue);
2. ask the target's breaker; an open breaker ends the run as ``breaker_open`` at once,
   the target untouched;
3. execute under ``move_on_after(timeout)``: running out is outcome ``timeout`` and
   counts against the breaker;
4. report the result to the breaker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs
import trio

from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.exec.interface import ActionResult, Executor, RunContext, SpawnHook
from gnomon.runtime.clock import Clock
from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.enums import Outcome


@attrs.frozen(kw_only=True)
class RunPlan:
    """What to run, for whom, under which limits."""

    context: RunContext
    action: Action
    breaker_key: str


@attrs.frozen(kw_only=True)
class RunEnd:
    """How a run ended, as the job actor receives it.

    ``started_at`` is ``None`` when the run never reached its target (the breaker refused).
    """

    run_id: str
    outcome: Outcome
    result: ActionResult | None = None
    started_at: datetime | None = None
    finished_at: datetime
    retry_after: float | None = None

    @property
    def error(self) -> str:
        return "" if self.result is None else self.result.error


@attrs.frozen(kw_only=True)
class RunDeps:
    """The engine's shared run machinery."""

    executor: Executor
    breakers: Breakers
    clock: Clock
    concurrency: trio.CapacityLimiter


async def perform_run(plan: RunPlan, deps: RunDeps) -> RunEnd:
    """Run ``plan`` end to end (see the module docstring).

    Cancellation: propagates after the executor has stopped the action; a probe permit
    that was not used is given back.
    """
    ctx = plan.context
    async with deps.concurrency:
        permission = await deps.breakers.permit(plan.breaker_key)
        now = deps.clock.now()
        if not permission.allowed:
            retry = None
            if permission.retry_at is not None:
                retry = max(0.0, (permission.retry_at - now).total_seconds())
            return RunEnd(
                run_id=ctx.run_id, outcome=Outcome.BREAKER_OPEN, finished_at=now, retry_after=retry
            )
        return await _execute(plan, deps, probe=permission.probe)


async def _execute(plan: RunPlan, deps: RunDeps, *, probe: bool) -> RunEnd:
    key = plan.breaker_key
    result: ActionResult | None = None
    try:
        started_at = deps.clock.now()
        with trio.move_on_after(plan.context.timeout):
            result = await deps.executor.run(plan.action, plan.context)
    except BaseException:  # cancelled from outside (kill, shutdown): the call never ended
        if probe:
            deps.breakers.release(key)
        raise
    if result is None:
        result = ActionResult(
            outcome=Outcome.TIMEOUT,
            error=f"the action timed out after {plan.context.timeout:g}s",
            transient=True,
            breaker_failure=True,
        )
    deps.breakers.report(key, failure=result.breaker_failure, probe=probe)
    return RunEnd(
        run_id=plan.context.run_id,
        outcome=result.outcome,
        result=result,
        started_at=started_at,
        finished_at=deps.clock.now(),
        retry_after=result.retry_after,
    )


def spawn_recorder(persist: SpawnHook, crash_point: Callable[[], None]) -> SpawnHook:
    """An ``on_spawn`` hook that persists pid/pgid, then passes the crash point
    ``after_process_spawn`` (used by kill tests)."""

    async def on_spawn(pid: int, pgid: int) -> None:
        await persist(pid, pgid)
        crash_point()

    return on_spawn
