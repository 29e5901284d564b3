"""The ``llm`` condition: ``llm: QUESTION`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model.dsl_scan import invalid
from gnomon.runtime.model.kinds import Kind, PolicyCommand, model_key


@attrs.frozen(kw_only=True)
class LlmCondition:
    """An LLM answers ``question`` (with the output of ``context_cmd`` appended) and the
    answer passes ``passes_if``: ``yes``, ``no``, or a regex."""

    TAG: ClassVar[str] = "llm"
    question: str
    context_cmd: str | None = None
    passes_if: str = "yes"
    model: str | None = None
    max_tokens: int = 120


def _parse(rest: str, body: str) -> LlmCondition:
    if not rest:
        raise invalid("llm: needs a question", body, ("llm: QUESTION",))
    return LlmCondition(question=rest)


def _commands(c: LlmCondition) -> tuple[PolicyCommand, ...]:
    if c.context_cmd is None:
        return ()
    return (PolicyCommand(c.context_cmd, False, " (llm context)"),)


KIND = Kind(
    cls=LlmCondition,
    forms=("llm: QUESTION",),
    prefixes=(("llm:", _parse),),
    format=lambda c: f"llm: {c.question}",
    breaker_key=lambda c, keying: model_key(c.model, keying),
    policy_commands=_commands,
    runs_local=lambda c: c.context_cmd is not None,
    secret_fields=("question", "context_cmd"),
)
