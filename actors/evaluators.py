"""The daemon's :class:`~gnomon.actors.execution.Evaluator`: dispatch and composites.

Leaves go to :mod:`~gnomon.actors.eval_net` (``http``, ``tcp``, ``file``),
:mod:`~gnomon.actors.eval_shell` (``shell``, ``regex``), :mod:`~gnomon.actors.eval_cli`
(``docker``, ``k8s``) and :mod:`~gnomon.actors.eval_llm` (``llm``).

Composites are three-valued (true / false / error), children evaluated one after the
other, in order:

- ``and``: false if any child is false (evaluation stops at the first false); else an
  error if any child errs; else true.
- ``or``: true if any child is true (evaluation stops at the first true); else an error if
  any child errs; else false.
- ``not``: the negation of a value; ``not`` of an error is the same error (reference bug
  16.1.8).

A composite error is transient unless one of the erring children's errors is permanent;
it counts for the breaker when any evaluated child's result did.

Every summary is redacted. An evaluator that raises anything but cancellation (a bug) is
logged and turned into a permanent error verdict instead of crashing the wait (16.1.6).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import httpx

from gnomon.actors.eval_cli import DockerEvaluator, K8sEvaluator
from gnomon.actors.eval_llm import LlmEvaluator
from gnomon.actors.eval_net import FileEvaluator, HttpEvaluator, TcpEvaluator
from gnomon.actors.eval_shell import ShellEvaluator
from gnomon.actors.exec_settings import ExecSettings
from gnomon.actors.execution import PollContext, Verdict
from gnomon.actors.policy import ShellPolicy
from gnomon.runtime.model.conditions import (
    AllOf,
    AnyOf,
    Condition,
    DockerCondition,
    FileCondition,
    HttpCondition,
    K8sCondition,
    LlmCondition,
    Not,
    OutputCondition,
    ShellCondition,
    TcpCondition,
)
from gnomon.runtime.redact import Redactor

#: Seconds the daemon-wide redactor is reused (a secret added to the daemon's environment
#: at run time is masked from the next rebuild on).
REDACTOR_TTL = 1.0

__all__ = ["Evaluators", "combine_all", "combine_any", "negate"]

log = logging.getLogger("gnomon.evaluators")


def _summaries(tag: str, verdicts: Sequence[Verdict], pick: bool | None) -> str:
    shown = [f"[{i + 1}] {v.summary}" for i, v in enumerate(verdicts) if v.value is pick]
    return f"{tag}: " + "; ".join(shown)


def _error_of(tag: str, verdicts: Sequence[Verdict], breaker: bool) -> Verdict:
    errs = [v for v in verdicts if v.value is None]
    return Verdict(
        value=None,
        summary=_summaries(tag, verdicts, None),
        transient=all(e.transient for e in errs),
        breaker_failure=breaker,
    )


def combine_all(verdicts: Sequence[Verdict]) -> Verdict:
    """``and`` of the children's verdicts (module docstring)."""
    breaker = any(v.breaker_failure for v in verdicts)
    if any(v.value is False for v in verdicts):
        return Verdict(
            value=False, summary=_summaries("and", verdicts, False), breaker_failure=breaker
        )
    if any(v.value is None for v in verdicts):
        return _error_of("and", verdicts, breaker)
    return Verdict(value=True, summary=f"and: all {len(verdicts)} true", breaker_failure=breaker)


def combine_any(verdicts: Sequence[Verdict]) -> Verdict:
    """``or`` of the children's verdicts (module docstring)."""
    breaker = any(v.breaker_failure for v in verdicts)
    if any(v.value is True for v in verdicts):
        return Verdict(
            value=True, summary=_summaries("or", verdicts, True), breaker_failure=breaker
        )
    if any(v.value is None for v in verdicts):
        return _error_of("or", verdicts, breaker)
    return Verdict(value=False, summary=_summaries("or", verdicts, False), breaker_failure=breaker)


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


class Evaluators:
    """Evaluates every condition type; satisfies :class:`~gnomon.actors.execution.Evaluator`."""

    def __init__(
        self, settings: ExecSettings, *, http: httpx.AsyncClient, policy: ShellPolicy
    ) -> None:
        self.settings = settings
        self.http = HttpEvaluator(settings, http)
        self.tcp = TcpEvaluator()
        self.file = FileEvaluator()
        self.shell = ShellEvaluator(settings, policy)
        self.docker = DockerEvaluator(settings)
        self.k8s = K8sEvaluator(settings)
        self.llm = LlmEvaluator(settings, http, self.shell)
        self._redactor: tuple[float, Redactor] | None = None

    def _daemon_redactor(self) -> Redactor:
        """The daemon-wide redactor, rebuilt at most once a second: building it walks the
        daemon's environment, which 2,000 polls a second cannot afford each."""
        now = time.monotonic()
        if self._redactor is None or now - self._redactor[0] >= REDACTOR_TTL:
            self._redactor = (now, self.settings.redactor())
        return self._redactor[1]

    async def evaluate(self, condition: Condition, ctx: PollContext) -> Verdict:
        """Evaluate once; never raises except ``trio.Cancelled``."""
        redactor = self._daemon_redactor()
        if ctx.env:
            redactor = redactor.with_env(ctx.env)
        return await self._eval(condition, ctx, redactor)

    async def _eval(self, cond: Condition, ctx: PollContext, redactor: Redactor) -> Verdict:
        match cond:
            case AllOf(children=children):
                done: list[Verdict] = []
                for child in children:
                    done.append(await self._eval(child, ctx, redactor))
                    if done[-1].value is False:
                        break
                return combine_all(done)
            case AnyOf(children=children):
                done = []
                for child in children:
                    done.append(await self._eval(child, ctx, redactor))
                    if done[-1].value is True:
                        break
                return combine_any(done)
            case Not(child=child):
                return negate(await self._eval(child, ctx, redactor))
        try:
            return await self._leaf(cond, ctx, redactor)
        except Exception as exc:
            tag = getattr(cond, "TAG", type(cond).__name__)
            log.exception("evaluator for %s crashed (job %s)", tag, ctx.job_id)
            summary = f"internal error in the {tag} evaluator: {type(exc).__name__}: {exc}"
            return Verdict(value=None, summary=redactor.redact(summary), transient=False)

    async def _leaf(self, cond: Condition, ctx: PollContext, redactor: Redactor) -> Verdict:
        match cond:
            case HttpCondition():
                return await self.http.evaluate(cond, ctx, redactor)
            case TcpCondition():
                return await self.tcp.evaluate(cond, ctx)
            case FileCondition():
                return await self.file.evaluate(cond, ctx)
            case ShellCondition():
                return await self.shell.shell(cond, ctx, redactor)
            case OutputCondition():
                return await self.shell.regex(cond, ctx, redactor)
            case DockerCondition():
                return await self.docker.evaluate(cond, ctx, redactor)
            case K8sCondition():
                return await self.k8s.evaluate(cond, ctx, redactor)
            case LlmCondition():
                return await self.llm.evaluate(cond, ctx, redactor)
        raise TypeError(f"unknown condition type {type(cond).__name__}")
