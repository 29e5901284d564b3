"""Wait-pollers: one actor per fire that waits on a condition.

A poller evaluates its condition every ``poll_interval`` seconds, each poll bounded by a
per-poll timeout and gated by the target's breaker, and reports every result to its job.
It owns no deadline: the job's state machine decides when the wait is over (deadline,
``max_polls``, on-timeout policy) and stops the poller. A poll refused by an open breaker
never touches the target; it is reported as a transient error whose summary says so, and
counted as ``breaker_open`` in ``gnomon_wait_checks_total``.

Polls are anchored at the poller's start (``start + n·interval``), so a slow poll does
not make the schedule drift; a poll that overruns its slot is followed at once by the
next.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import attrs
import trio

from gnomon.actors.breakers import Breakers
from gnomon.actors.execution import Evaluator, PollContext, Verdict
from gnomon.runtime.actor import ActorContext
from gnomon.runtime.clock import Clock
from gnomon.runtime.errors import ActorGone
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.job import Owner
from gnomon.runtime.supervisor import ChildSpec, Restart

KIND = "wait"
MIN_POLL_TIMEOUT = 5.0


@attrs.frozen(kw_only=True)
class PollReport:
    """One poll's result as the job receives it."""

    cycle: int
    poll: int
    at: datetime
    verdict: Verdict
    breaker_open: bool = False


Report = Callable[[PollReport], Awaitable[None]]


@attrs.frozen(kw_only=True)
class WaitPlan:
    """What a poller needs to know about the wait it serves."""

    job_id: str
    job_name: str
    owner: Owner
    cycle: int
    condition: Condition
    poll_interval: float
    polls_done: int = 0
    breaker_key: str
    i_know: bool = False
    cwd: str | None = None
    env: dict[str, str] = attrs.field(factory=dict)

    @property
    def poll_timeout(self) -> float:
        """Each poll may take the longer of 5 s and three poll intervals."""
        return max(MIN_POLL_TIMEOUT, 3 * self.poll_interval)


def poller_id(job_id: str, cycle: int) -> str:
    """The child id of the poller serving fire ``cycle`` of a job."""
    return f"{job_id}.{cycle}"


async def poll_once(
    plan: WaitPlan, poll: int, evaluator: Evaluator, breakers: Breakers
) -> tuple[Verdict, bool]:
    """One poll through the breaker; returns the verdict and whether the breaker refused.

    Cancellation: cancels the evaluation (its process group, if any, is killed) and
    gives back a probe permit.
    """
    permission = await breakers.permit(plan.breaker_key)
    if not permission.allowed:
        until = "" if permission.retry_at is None else f" until {permission.retry_at.isoformat()}"
        summary = f"breaker {plan.breaker_key} is open{until}; target not polled"
        return Verdict(value=None, summary=summary, transient=True), True
    ctx = PollContext(
        job_id=plan.job_id,
        job_name=plan.job_name,
        owner=plan.owner,
        poll=poll,
        timeout=plan.poll_timeout,
        i_know=plan.i_know,
        cwd=plan.cwd,
        env=plan.env,
    )
    verdict: Verdict | None = None
    try:
        with trio.move_on_after(plan.poll_timeout):
            verdict = await evaluator.evaluate(plan.condition, ctx)
    finally:
        if verdict is None and permission.probe:
            breakers.release(plan.breaker_key)
    if verdict is None:
        verdict = Verdict(
            value=None,
            summary=f"poll timed out after {plan.poll_timeout:g}s",
            transient=True,
            breaker_failure=True,
        )
    breakers.report(plan.breaker_key, failure=verdict.breaker_failure, probe=permission.probe)
    return verdict, False


def wait_poller(
    plan: WaitPlan, *, evaluator: Evaluator, breakers: Breakers, clock: Clock, report: Report
) -> Callable[[ActorContext[Any]], Awaitable[None]]:
    """The poller actor for one waiting fire. Returns when its job is gone."""

    async def actor(ctx: ActorContext[Any]) -> None:
        ctx.ready()
        start = trio.current_time()
        poll = plan.polls_done
        for n in itertools.count(1):
            if ctx.stop_requested:
                return
            poll += 1
            verdict, refused = await poll_once(plan, poll, evaluator, breakers)
            result = PollReport(
                cycle=plan.cycle, poll=poll, at=clock.now(), verdict=verdict, breaker_open=refused
            )
            try:
                await report(result)
            except ActorGone:
                return
            next_at = start + n * plan.poll_interval
            while trio.current_time() < next_at:  # no messages are expected; ignore strays
                await ctx.inbox.receive_until(next_at)

    return actor


def poller_spec(
    plan: WaitPlan, *, evaluator: Evaluator, breakers: Breakers, clock: Clock, report: Report
) -> ChildSpec:
    """The child spec of a poller (transient: restarted only if it crashes)."""
    return ChildSpec(
        id=poller_id(plan.job_id, plan.cycle),
        kind=KIND,
        start=wait_poller(plan, evaluator=evaluator, breakers=breakers, clock=clock, report=report),
        restart=Restart.TRANSIENT,
        shutdown=10.0,
        mailbox_size=1,
    )
