"""The daemon's :class:`~gnomon.actors.exec.interface.Executor`: dispatch by action type
through the registry :data:`~gnomon.actors.actions.EXECUTORS` (one module per type in
``actors/actions/``; ``slash_cmd`` runs the given :data:`SlashHandler`, the CLI's
command layer, else fails permanently saying none is installed).

An executor that raises anything but cancellation (a bug) does not take the job actor
down (reference bug 16.1.6): the exception is logged with its traceback and the run fails
permanently with ``internal error in the <type> executor: …``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import httpx

from gnomon.actors.actions import EXECUTORS
from gnomon.actors.actions.llm_prompt import SpendLookup
from gnomon.actors.exec.common import failure
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime.model.actions import Action, SlashAction
from gnomon.runtime.redact import Redactor

__all__ = ["ActionRun", "ExecDeps", "Executors", "SlashHandler"]

log = logging.getLogger("gnomon.executors")

A = TypeVar("A")
#: One action type's run function, built by its ``executor(deps)`` hook.
ActionRun = Callable[[A, RunContext], Awaitable[ActionResult]]

SlashHandler = Callable[[SlashAction, RunContext], Awaitable[ActionResult]]
"""Runs a ``/COMMAND ARGS`` line as the job's owner and returns its result (never by
swapping the process's stdout)."""


@attrs.frozen(kw_only=True)
class ExecDeps:
    """What an ``executor(deps)`` hook may build its run function from (see
    :class:`Executors` for each)."""

    settings: ExecSettings
    http: httpx.AsyncClient
    policy: ShellPolicy
    spent: SpendLookup | None = None
    slash: SlashHandler | None = None


class Executors:
    """Runs every action type; satisfies :class:`~gnomon.actors.exec.interface.Executor`.

    Args:
        http: the daemon's shared client (:func:`gnomon.runtime.httpclient.open_client`).
        policy: the home's shell policy, re-checked at fire time.
        spent: the engine's lookup of a job's LLM spend so far (default: this daemon's
            in-memory ledger).
        slash: the handler of ``slash_cmd`` actions, if the command layer is installed.
    """

    def __init__(
        self,
        settings: ExecSettings,
        *,
        http: httpx.AsyncClient,
        policy: ShellPolicy,
        spent: SpendLookup | None = None,
        slash: SlashHandler | None = None,
    ) -> None:
        self.settings = settings
        self._deps = ExecDeps(settings=settings, http=http, policy=policy, spent=spent, slash=slash)
        self._runs = self._build()

    def _build(self) -> dict[str, ActionRun[Any]]:
        return {tag: hook(self._deps) for tag, hook in EXECUTORS.items()}

    @property
    def slash(self) -> SlashHandler | None:
        """The command layer, if any."""
        return self._deps.slash

    def use_spend_lookup(self, spent: SpendLookup) -> None:
        """Budget ``llm_prompt`` actions with ``spent`` from now on."""
        self._replace(spent=spent)

    def _replace(self, **changes: Any) -> None:
        """New dependencies: every type's run function is built again from them."""
        self._deps = attrs.evolve(self._deps, **changes)
        self._runs = self._build()

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        """Run ``action``; never raises except ``trio.Cancelled`` (module docstring). The
        output and error of every action type go through the redactor here, whatever the
        executor did (a ``noop`` message is masked like a shell's output)."""
        redactor = self.settings.redactor().with_env(ctx.env)
        tag = getattr(action, "TAG", type(action).__name__)
        try:
            run = self._runs.get(tag)
            if run is None:
                raise TypeError(f"unknown action type {type(action).__name__}")
            result = await run(action, ctx)
        except Exception as exc:
            log.exception("executor for %s crashed (job %s, run %s)", tag, ctx.job_id, ctx.run_id)
            message = f"internal error in the {tag} executor: {type(exc).__name__}: {exc}"
            return failure(redactor.redact(message))
        return _redacted(result, redactor)


def _redacted(result: ActionResult, redactor: Redactor) -> ActionResult:
    """``result`` with its output and error redacted (idempotent: masks stay masks)."""
    output, error = redactor.redact(result.output), redactor.redact(result.error)
    if output == result.output and error == result.error:
        return result
    return attrs.evolve(result, output=output, error=error)
