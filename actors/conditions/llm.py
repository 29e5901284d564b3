"""The ``llm`` evaluator: an LLM answers a yes/no question about the current state.

The prompt is the question, followed — when ``context_cmd`` is set — by that command's
output (stdout and stderr, at most ``llm_context_cap`` bytes of its tail; the command
passes the shell policy like any condition command). The system prompt asks for ``YES``
or ``NO`` on the first line and one sentence of reason.

``passes_if``: ``yes`` / ``no`` compare the answer's first word (case and markdown
ignored); anything else is a regex searched in the answer (case-insensitive). An answer
that is neither yes nor no simply does not pass.

Errors follow the LLM call's classification (:mod:`gnomon.actors.actions.llm_prompt`): 429/5xx,
timeouts and connection errors are transient and count for the breaker; other statuses,
a malformed reply, no configured endpoint and an invalid ``passes_if`` regex are
permanent. Errors of the context command are the shell evaluator's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from gnomon.actors.actions.llm_prompt import ChatFailure, chat
from gnomon.actors.conditions.shell import ShellEvaluator
from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.conditions import LlmCondition
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["SYSTEM_PROMPT", "LlmEvaluator", "evaluator", "first_word"]

SYSTEM_PROMPT = (
    "You are a monitoring check. Answer the user's question about the system with YES or NO "
    "on the first line, then one short sentence giving the reason."
)
_WORD = re.compile(r"[\W_]*([A-Za-z]+)")


def first_word(answer: str) -> str:
    """The answer's first word, upper-cased, ignoring leading punctuation and markdown."""
    m = _WORD.match(answer)
    return m[1].upper() if m else ""


class LlmEvaluator:
    """Evaluates :class:`LlmCondition`\\ s."""

    def __init__(
        self, settings: ExecSettings, client: httpx.AsyncClient, shell: ShellEvaluator
    ) -> None:
        self.settings = settings
        self.client = client
        self.shell = shell

    async def evaluate(self, cond: LlmCondition, ctx: PollContext, redactor: Redactor) -> Verdict:
        """Ask once; cancellation aborts the call (and kills the context command)."""
        verdict_of = self._judge_fn(cond)
        if isinstance(verdict_of, Verdict):
            return verdict_of
        prompt = cond.question
        if cond.context_cmd:
            cap = self.settings.llm_context_cap
            run = await self.shell.run(cond.context_cmd, ctx, redactor, cap=cap)
            if isinstance(run, Verdict):
                return run
            state = run.stdout[-cap:]
            prompt += (
                f"\n\nCurrent state (output of `{cond.context_cmd}`, "
                f"exit {run.result.exit_code}):\n{state}"
            )
        reply = await chat(
            self.client,
            self.settings.llm,
            prompt=prompt,
            system=SYSTEM_PROMPT,
            model=cond.model,
            max_tokens=cond.max_tokens,
            timeout=min(ctx.timeout, self.settings.llm.timeout),
        )
        if isinstance(reply, ChatFailure):
            return Verdict(
                value=None,
                summary=redactor.redact(reply.message),
                transient=reply.transient,
                breaker_failure=reply.breaker,
            )
        answer = redactor.redact(reply.text.strip())
        shown = answer if len(answer) <= 300 else answer[:300] + "…"
        return Verdict(
            value=verdict_of(answer),
            summary=f"{shown} ({reply.total_tokens} tokens)",
        )

    def _judge_fn(self, cond: LlmCondition) -> Verdict | _Judge:
        wanted = cond.passes_if.strip()
        if wanted.lower() in ("yes", "no"):
            return _Judge(word=wanted.upper())
        try:
            return _Judge(pattern=re.compile(wanted, re.IGNORECASE))
        except re.error as exc:
            return Verdict(value=None, summary=f"invalid passes_if regex: {exc}", transient=False)


class _Judge:
    def __init__(self, *, word: str | None = None, pattern: re.Pattern[str] | None = None) -> None:
        self.word = word
        self.pattern = pattern

    def __call__(self, answer: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(answer) is not None
        return first_word(answer) == self.word


def evaluator(deps: EvalDeps) -> ConditionCheck[LlmCondition]:
    """The registry's hook (its context command runs like a ``shell`` condition's)."""
    return LlmEvaluator(
        deps.settings, deps.http, ShellEvaluator(deps.settings, deps.policy)
    ).evaluate
