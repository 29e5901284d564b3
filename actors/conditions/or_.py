"""The ``or`` evaluator: children one after the other, in order, three-valued.

True if any child is true (evaluation stops at the first true); else an error if any
child errs; else false. Errors and breaker failures combine as for ``and``
(:mod:`gnomon.actors.conditions.and_`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gnomon.actors.conditions.and_ import error_of, summaries
from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.runtime.model.conditions import AnyOf
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["combine_any", "evaluator"]


def combine_any(verdicts: Sequence[Verdict]) -> Verdict:
    """``or`` of the children's verdicts (module docstring)."""
    breaker = any(v.breaker_failure for v in verdicts)
    if any(v.value is True for v in verdicts):
        return Verdict(value=True, summary=summaries("or", verdicts, True), breaker_failure=breaker)
    if any(v.value is None for v in verdicts):
        return error_of("or", verdicts, breaker)
    return Verdict(value=False, summary=summaries("or", verdicts, False), breaker_failure=breaker)


def evaluator(deps: EvalDeps) -> ConditionCheck[AnyOf]:
    """The registry's hook: children through ``deps.child``, stopping at the first true."""

    async def check(cond: AnyOf, ctx: PollContext, redactor: Redactor) -> Verdict:
        done: list[Verdict] = []
        for child in cond.children:
            done.append(await deps.child(child, ctx, redactor))
            if done[-1].value is True:
                break
        return combine_any(done)

    return check
