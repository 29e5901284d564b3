"""The daemon's :class:`~gnomon.actors.execution.Executor`: dispatch by action type.

======================  ==============================================================
action                  executor
======================  ==============================================================
``shell``               :class:`~gnomon.actors.exec_shell.ShellExecutor`
``webhook``             :class:`~gnomon.actors.exec_http.WebhookExecutor`
``llm_prompt``          :class:`~gnomon.actors.exec_llm.LlmExecutor`
``agent_task``          :class:`~gnomon.actors.exec_agent.AgentExecutor`
``hook``                :class:`~gnomon.actors.exec_hook.HookExecutor`
``slash_cmd``           the installed :data:`SlashHandler` (the CLI's command layer), else
                        a permanent failure saying none is installed
``noop``                success; the output is the message (redacted), or ``noop``
======================  ==============================================================

An executor that raises anything but cancellation (a bug) does not take the job actor
down (reference bug 16.1.6): the exception is logged with its traceback and the run fails
permanently with ``internal error in the <type> executor: …``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import attrs
import httpx

from gnomon.actors.exec_agent import AgentExecutor
from gnomon.actors.exec_common import failure
from gnomon.actors.exec_hook import HookExecutor
from gnomon.actors.exec_http import WebhookExecutor
from gnomon.actors.exec_llm import LlmExecutor, SpendLookup
from gnomon.actors.exec_settings import ExecSettings
from gnomon.actors.exec_shell import ShellExecutor
from gnomon.actors.execution import ActionResult, RunContext
from gnomon.actors.policy import ShellPolicy
from gnomon.runtime.model.actions import (
    Action,
    AgentTaskAction,
    HookAction,
    LlmPromptAction,
    NoopAction,
    ShellAction,
    SlashAction,
    WebhookAction,
)
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.redact import Redactor

__all__ = ["Executors", "SlashHandler"]

log = logging.getLogger("gnomon.executors")

SlashHandler = Callable[[SlashAction, RunContext], Awaitable[ActionResult]]
"""Runs a ``/COMMAND ARGS`` line as the job's owner and returns its result (never by
swapping the process's stdout)."""


class Executors:
    """Runs every action type; satisfies :class:`~gnomon.actors.execution.Executor`.

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
        self.shell = ShellExecutor(settings, policy)
        self.webhook = WebhookExecutor(settings, http)
        self.llm = LlmExecutor(settings, http, spent=spent)
        self.agent = AgentExecutor(settings)
        self.hook = HookExecutor(settings)
        self.slash = slash

    def install_slash_handler(self, handler: SlashHandler | None) -> None:
        """Plug in (or remove) the command layer that runs ``slash_cmd`` actions."""
        self.slash = handler

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        """Run ``action``; never raises except ``trio.Cancelled`` (module docstring). The
        output and error of every action type go through the redactor here, whatever the
        executor did (a ``noop`` message is masked like a shell's output)."""
        redactor = self.settings.redactor().with_env(ctx.env)
        try:
            result = await self._dispatch(action, ctx)
        except Exception as exc:
            tag = getattr(action, "TAG", type(action).__name__)
            log.exception("executor for %s crashed (job %s, run %s)", tag, ctx.job_id, ctx.run_id)
            message = f"internal error in the {tag} executor: {type(exc).__name__}: {exc}"
            return failure(redactor.redact(message))
        return _redacted(result, redactor)

    async def _dispatch(self, action: Action, ctx: RunContext) -> ActionResult:
        match action:
            case ShellAction():
                return await self.shell.run(action, ctx)
            case WebhookAction():
                return await self.webhook.run(action, ctx)
            case LlmPromptAction():
                return await self.llm.run(action, ctx)
            case AgentTaskAction():
                return await self.agent.run(action, ctx)
            case HookAction():
                return await self.hook.run(action, ctx)
            case SlashAction():
                if self.slash is None:
                    return failure(
                        f"cannot run {action.command!r}: slash commands need the daemon's "
                        "command layer, which is not installed in this daemon"
                    )
                return await self.slash(action, ctx)
            case NoopAction(message=message):
                return ActionResult(outcome=Outcome.SUCCESS, output=message or "noop")
        raise TypeError(f"unknown action type {type(action).__name__}")


def _redacted(result: ActionResult, redactor: Redactor) -> ActionResult:
    """``result`` with its output and error redacted (idempotent: masks stay masks)."""
    output, error = redactor.redact(result.output), redactor.redact(result.error)
    if output == result.output and error == result.error:
        return result
    return attrs.evolve(result, output=output, error=error)
