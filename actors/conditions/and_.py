"""The ``and`` evaluator: children one after the other, in order, three-valued.

False if any child is false (evaluation stops at the first false); else an error if any
child errs; else true. An error is transient unless one of the erring children's errors
is permanent; the verdict counts for the breaker when any evaluated child's did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.runtime.model.conditions import AllOf
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["combine_all", "error_of", "evaluator", "summaries"]


def summaries(tag: str, verdicts: Sequence[Verdict], pick: bool | None) -> str:
    """``tag: [i] summary; …`` of the children whose value is ``pick``."""
    shown = [f"[{i + 1}] {v.summary}" for i, v in enumerate(verdicts) if v.value is pick]
    return f"{tag}: " + "; ".join(shown)


def error_of(tag: str, verdicts: Sequence[Verdict], breaker: bool) -> Verdict:
    """The composite's error: transient unless an erring child's error is permanent."""
    errs = [v for v in verdicts if v.value is None]
    return Verdict(
        value=None,
        summary=summaries(tag, verdicts, None),
        transient=all(e.transient for e in errs),
        breaker_failure=breaker,
    )


def combine_all(verdicts: Sequence[Verdict]) -> Verdict:
    """``and`` of the children's verdicts (module docstring)."""
    breaker = any(v.breaker_failure for v in verdicts)
    if any(v.value is False for v in verdicts):
        return Verdict(
            value=False, summary=summaries("and", verdicts, False), breaker_failure=breaker
        )
    if any(v.value is None for v in verdicts):
        return error_of("and", verdicts, breaker)
    return Verdict(value=True, summary=f"and: all {len(verdicts)} true", breaker_failure=breaker)


def evaluator(deps: EvalDeps) -> ConditionCheck[AllOf]:
    """The registry's hook: children through ``deps.child``, stopping at the first false."""

    async def check(cond: AllOf, ctx: PollContext, redactor: Redactor) -> Verdict:
        done: list[Verdict] = []
        for child in cond.children:
            done.append(await deps.child(child, ctx, redactor))
            if done[-1].value is False:
                break
        return combine_all(done)

    return check
