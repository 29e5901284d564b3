"""Scripted executors and evaluators for virtual-time engine tests.

They stand in for the outside world (processes, HTTP) — the edge gnomon does not own —
so engine tests can run in virtual time; real executors are tested with real processes
and servers in tests/actors and tests/system.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import trio

from gnomon.actors.exec.interface import ActionResult, PollContext, RunContext, Verdict
from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.enums import Outcome


@attrs.define
class Call:
    """One recorded executor call."""

    run_id: str
    attempt: int
    started: float
    ended: float | None = None
    cancelled: bool = False


@attrs.define
class ScriptedExecutor:
    """Each call takes ``duration`` virtual seconds and returns ``results`` in turn (the
    last one repeats); ``spawn`` makes it report a fake pid/pgid first."""

    results: list[ActionResult] = attrs.field(
        factory=lambda: [ActionResult(outcome=Outcome.SUCCESS)]
    )
    duration: float = 1.0
    calls: list[Call] = attrs.field(factory=list)
    spawn: bool = False

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        call = Call(ctx.run_id, ctx.attempt, trio.current_time())
        self.calls.append(call)
        if self.spawn:
            await ctx.on_spawn(4242, 4242)
        try:
            await trio.sleep(self.duration)
        except trio.Cancelled:
            call.cancelled = True
            raise
        finally:
            call.ended = trio.current_time()
        index = min(len(self.calls) - 1, len(self.results) - 1)
        return self.results[index]


@attrs.define
class ScriptedEvaluator:
    """Answers polls with ``verdicts`` in turn (the last repeats), after ``duration``."""

    verdicts: list[Verdict] = attrs.field(factory=lambda: [Verdict(value=True)])
    duration: float = 0.0
    polls: list[float] = attrs.field(factory=list)
    decide: Callable[[int], Verdict] | None = None

    async def evaluate(self, condition: Condition, ctx: PollContext) -> Verdict:
        self.polls.append(trio.current_time())
        await trio.sleep(self.duration)
        if self.decide is not None:
            return self.decide(len(self.polls))
        return self.verdicts[min(len(self.polls) - 1, len(self.verdicts) - 1)]
