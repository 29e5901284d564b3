"""The ``not`` evaluator: the negation of a value; ``not`` of an error is the same error
(reference bug 16.1.8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.runtime.model.conditions import Not
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["evaluator", "negate"]


def negate(verdict: Verdict) -> Verdict:
    """``not``: flips a value, keeps an error an error."""
    if verdict.value is None:
        return Verdict(
            value=None,
            summary=f"not: {verdict.summary}",
            transient=verdict.transient,
            breaker_failure=verdict.breaker_failure,
        )
    return Verdict(
        value=not verdict.value,
        summary=f"not: {verdict.summary}",
        breaker_failure=verdict.breaker_failure,
    )


def evaluator(deps: EvalDeps) -> ConditionCheck[Not]:
    """The registry's hook: the child through ``deps.child``."""

    async def check(cond: Not, ctx: PollContext, redactor: Redactor) -> Verdict:
        return negate(await deps.child(cond.child, ctx, redactor))

    return check
