"""The ``llm_prompt`` action: ``llm: PROMPT`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model.actions.shell import required
from gnomon.runtime.model.kinds import Kind, model_key


@attrs.frozen(kw_only=True)
class LlmPromptAction:
    """One OpenAI-compatible chat completion; records tokens and cost.

    ``max_total_tokens`` / ``max_cost_usd`` cap what the job may spend over its life.
    """

    TAG: ClassVar[str] = "llm_prompt"
    prompt: str
    system: str | None = None
    model: str | None = None
    max_tokens: int = 512
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None


def _parse(rest: str, body: str) -> LlmPromptAction:
    return LlmPromptAction(prompt=required("llm:", "llm: PROMPT", rest, body))


KIND = Kind(
    cls=LlmPromptAction,
    forms=("llm: PROMPT",),
    prefixes=(("llm:", _parse),),
    format=lambda a: f"llm: {a.prompt}",
    breaker_key=lambda a, keying: model_key(a.model, keying),
    secret_fields=("prompt", "system"),
)
