"""One wait's plan and one poll of it (the shared pollers: ``actors/wait_pollers.py``).

A poll evaluates the wait's condition, bounded by a per-poll timeout and gated by the
target's breaker. The poller owns no deadline: the job's state machine decides when the
wait is over (deadline, ``max_polls``, on-timeout policy) and stops the wait. A poll
refused by an open breaker never touches the target; it is reported as a transient error
whose summary says so, and counted as ``breaker_open`` in ``gnomon_wait_checks_total``.
"""

from __future__ import annotations

from datetime import datetime

import attrs
import trio

from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.exec.interface import Evaluator, PollContext, Verdict
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.job import Owner

MIN_POLL_TIMEOUT = 5.0


@attrs.frozen(kw_only=True)
class PollReport:
    """One poll's result as the job receives it."""

    cycle: int
    poll: int
    at: datetime
    verdict: Verdict
    breaker_open: bool = False
    #: An unchanged result delivered only to save the poll count (no event).
    quiet: bool = False


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
    env: dict[str, str] = attrs.field(factory=dict)  # the spec's own mapping, not a copy

    @property
    def poll_timeout(self) -> float:
        """Each poll may take the longer of 5 s and three poll intervals."""
        return max(MIN_POLL_TIMEOUT, 3 * self.poll_interval)


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
