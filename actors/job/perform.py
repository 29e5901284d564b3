"""One run: take a concurrency slot, pass the breaker, execute under the timeout.

A run is a task in its job actor's nursery (not an actor): cancelling it — ``jobs
cancel``, ``cancel_previous``, shutdown — cancels the executor, which kills the action's
process group. Its start was committed with the step that dispatched it, before this task
existed (:mod:`gnomon.actors.job.run_tracker`), so nothing here waits for the store:

1. wait for a slot of the global concurrency limit (a fair FIFO queue);
2. ask the target's breaker; an open breaker ends the run as ``breaker_open`` at once,
   the target untouched;
3. execute under the timeout: running out is outcome ``timeout`` and counts against
   the breaker;
4. report the result to the breaker.

One cancel scope per run serves a kill and the timeout (its deadline, set as the action
starts; a kill sets ``RunHandle.killed`` before cancelling it). A free concurrency slot
and a closed breaker are taken without a round trip through the scheduler: a run whose
action ends at once costs its task one step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import attrs
import trio

from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.core.breaker.machine import BreakerStatus
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


class RunHandle(Protocol):
    """A run as its owner sees it: the one cancel scope it runs under, and why it was
    killed (set before the scope is cancelled; ``None``: not killed)."""

    scope: trio.CancelScope
    killed: str | None


@attrs.define
class _Attempt:
    """How far a run got: its breaker probe, and when its action was started."""

    probe: bool = False
    started_at: datetime | None = None


async def perform_run(
    plan: RunPlan, deps: RunDeps, handle: RunHandle | None = None
) -> RunEnd | None:
    """Run ``plan`` end to end (see the module docstring) under ``handle.scope`` (a
    fresh scope when ``None``): one cancel scope serves a kill and the timeout alike.

    Returns ``None`` when the run was killed (``handle.killed`` set, its scope cancelled)
    after the executor stopped the action. Cancellation from outside the scope (the
    owner's nursery) propagates after the executor has stopped the action. A probe permit
    that was not used is given back either way.
    """
    scope = trio.CancelScope() if handle is None else handle.scope
    attempt = _Attempt()
    try:
        with scope:
            await trio.lowlevel.checkpoint_if_cancelled()  # killed before it began
            return await _limited(plan, deps, scope, attempt)
    except BaseException:  # cancelled from outside (the owner's nursery): never ended
        _give_back(plan, deps, attempt)
        raise
    if handle is not None and handle.killed is not None:
        _give_back(plan, deps, attempt)
        return None
    return _timed_out(plan, deps, attempt)  # nothing else cancels the scope


async def _limited(
    plan: RunPlan, deps: RunDeps, scope: trio.CancelScope, attempt: _Attempt
) -> RunEnd:
    """Hold a slot of the concurrency limit while the run is admitted and executed. A
    free slot with nobody queued is taken without a round trip through the scheduler;
    otherwise the run waits in the limiter's fair FIFO queue."""
    limiter, task = deps.concurrency, trio.lowlevel.current_task()
    try:
        limiter.acquire_on_behalf_of_nowait(task)
    except trio.WouldBlock:
        await limiter.acquire_on_behalf_of(task)
    try:
        return await _admitted(plan, deps, scope, attempt)
    finally:
        limiter.release_on_behalf_of(task)


async def _admitted(
    plan: RunPlan, deps: RunDeps, scope: trio.CancelScope, attempt: _Attempt
) -> RunEnd:
    """Pass the breaker (a closed one answers at once, no round trip), then execute
    under the timeout (the deadline of ``scope``, set as the action starts)."""
    key, ctx = plan.breaker_key, plan.context
    if deps.breakers.status(key) is not BreakerStatus.CLOSED:
        permission = await deps.breakers.permit(key)
        if not permission.allowed:
            now = deps.clock.now()
            retry = None
            if permission.retry_at is not None:
                retry = max(0.0, (permission.retry_at - now).total_seconds())
            return RunEnd(
                run_id=ctx.run_id, outcome=Outcome.BREAKER_OPEN, finished_at=now, retry_after=retry
            )
        attempt.probe = permission.probe
    attempt.started_at = deps.clock.now()
    scope.deadline = trio.current_time() + ctx.timeout
    result = await deps.executor.run(plan.action, ctx)
    deps.breakers.report(key, failure=result.breaker_failure, probe=attempt.probe)
    return RunEnd(
        run_id=ctx.run_id,
        outcome=result.outcome,
        result=result,
        started_at=attempt.started_at,
        finished_at=deps.clock.now(),
        retry_after=result.retry_after,
    )


def _timed_out(plan: RunPlan, deps: RunDeps, attempt: _Attempt) -> RunEnd:
    """The end of a run whose action ran out of time (counts against the breaker)."""
    result = ActionResult(
        outcome=Outcome.TIMEOUT,
        error=f"the action timed out after {plan.context.timeout:g}s",
        transient=True,
        breaker_failure=True,
    )
    deps.breakers.report(plan.breaker_key, failure=True, probe=attempt.probe)
    return RunEnd(
        run_id=plan.context.run_id,
        outcome=Outcome.TIMEOUT,
        result=result,
        started_at=attempt.started_at,
        finished_at=deps.clock.now(),
    )


def _give_back(plan: RunPlan, deps: RunDeps, attempt: _Attempt) -> None:
    """A probe permit whose call never ended goes back to the breaker."""
    if attempt.probe:
        deps.breakers.release(plan.breaker_key)


def spawn_recorder(persist: SpawnHook, crash_point: Callable[[], None]) -> SpawnHook:
    """An ``on_spawn`` hook that persists pid/pgid, then passes the crash point
    ``after_process_spawn`` (used by kill tests)."""

    async def on_spawn(pid: int, pgid: int) -> None:
        await persist(pid, pgid)
        crash_point()

    return on_spawn
