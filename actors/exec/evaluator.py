"""The daemon's :class:`~gnomon.actors.exec.interface.Evaluator`: dispatch by condition type
through the registry :data:`~gnomon.actors.conditions.EVALUATORS` (one module per type in
``actors/conditions/``; the composites ``and``/``or``/``not`` evaluate their children
through :attr:`EvalDeps.child`, i.e. back through this dispatcher).

Every summary is redacted. An evaluator that raises anything but cancellation (a bug) is
logged and turned into a permanent error verdict instead of crashing the wait (16.1.6).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import httpx

from gnomon.actors.conditions import EVALUATORS
from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.actors.exec.settings import ExecSettings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.redact import Redactor

#: Seconds the daemon-wide redactor is reused (a secret added to the daemon's environment
#: at run time is masked from the next rebuild on).
REDACTOR_TTL = 1.0

__all__ = ["ConditionCheck", "EvalDeps", "Evaluators"]

log = logging.getLogger("gnomon.evaluators")

C = TypeVar("C")
#: One condition type's check, built by its ``evaluator(deps)`` hook.
ConditionCheck = Callable[[C, PollContext, Redactor], Awaitable[Verdict]]


@attrs.frozen(kw_only=True)
class EvalDeps:
    """What an ``evaluator(deps)`` hook may build its check from.

    Attributes:
        child: evaluates another condition (for composites); never raises except
            cancellation.
    """

    settings: ExecSettings
    http: httpx.AsyncClient
    policy: ShellPolicy
    child: ConditionCheck[Condition]


class Evaluators:
    """Evaluates every condition type (the :class:`~gnomon.actors.exec.interface.Evaluator`)."""

    def __init__(
        self, settings: ExecSettings, *, http: httpx.AsyncClient, policy: ShellPolicy
    ) -> None:
        self.settings = settings
        deps = EvalDeps(settings=settings, http=http, policy=policy, child=self._eval)
        self._checks: dict[str, ConditionCheck[Any]] = {
            tag: hook(deps) for tag, hook in EVALUATORS.items()
        }
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
        tag = getattr(cond, "TAG", type(cond).__name__)
        try:
            check = self._checks.get(tag)
            if check is None:
                raise TypeError(f"unknown condition type {type(cond).__name__}")
            return await check(cond, ctx, redactor)
        except Exception as exc:
            log.exception("evaluator for %s crashed (job %s)", tag, ctx.job_id)
            summary = f"internal error in the {tag} evaluator: {type(exc).__name__}: {exc}"
            return Verdict(value=None, summary=redactor.redact(summary), transient=False)
