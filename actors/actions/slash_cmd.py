"""The command layer behind ``slash_cmd`` actions (``/jobs cancel --tag env=staging``).

A slash command runs the gnomon CLI itself as a job process (its own group, killed on
timeout or cancel, output tail redacted) against this daemon, with a *job credential*:
exactly the authority of the token that created the job (its scope as the creator had
it, owner, agent flag and limits), valid for about the run's timeout and refused as soon
as that token is revoked — never the admin token unless the admin token created the job.
:data:`TokenFor` returns ``None`` when the creating token is unknown or revoked, and the
command is refused. The child never autostarts a daemon and sees
``GNOMON_JOB_ID``/``GNOMON_RUN_ID`` like every job process.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from gnomon.actors.exec.common import describe_exit, failure, run_env, run_process
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.actions import SlashAction
from gnomon.runtime.model.enums import Outcome

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps, SlashHandler

__all__ = ["TokenFor", "executor", "slash_argv", "slash_handler"]

#: The credential one run's slash command authenticates with, or ``None`` (refused).
TokenFor = Callable[[RunContext], str | None]


def slash_argv(command: str) -> list[str]:
    """``/jobs cancel --tag x`` → the CLI's argv.

    Raises:
        ValueError: not a slash command, empty, or unbalanced quotes.
    """
    text = command.strip()
    if not text.startswith("/"):
        raise ValueError(f"{command!r} is not a slash command (it must start with '/')")
    args = shlex.split(text[1:])
    if not args:
        raise ValueError("an empty slash command")
    return [sys.executable, "-m", "gnomon.cli", *args]


def slash_handler(
    url: Callable[[], str], settings: ExecSettings, token_for: TokenFor
) -> SlashHandler:
    """The handler the daemon gives :class:`~gnomon.actors.exec.executor.Executors`; ``url``:
    the gateway's, read at each run (it is known once the gateway is bound)."""

    async def handle(action: SlashAction, ctx: RunContext) -> ActionResult:
        redactor = settings.redactor().with_env(ctx.env)
        try:
            argv = slash_argv(action.command)
        except ValueError as exc:
            return failure(redactor.redact(f"cannot run {action.command!r}: {exc}"))
        token = token_for(ctx)
        if token is None:
            made_by = ctx.created_by.token_id or "no token"
            return failure(
                f"cannot run {action.command!r}: the token that created this job ({made_by}) "
                "is revoked or unknown, so its gnomon commands have no authority"
            )
        env = settings.child_environ({**run_env(ctx), **ctx.env})
        env.update(GNOMON_URL=url(), GNOMON_TOKEN=token, GNOMON_AUTOSTART="0", NO_COLOR="1")
        redactor = redactor.with_values([token])  # the child's output never shows it
        done = await run_process(
            argv,
            settings=settings,
            redactor=redactor,
            env=env,
            cwd=ctx.cwd,
            cap=settings.output_cap,
            timeout=ctx.timeout,
            on_spawn=ctx.on_spawn,
            tap=ctx.tap,
        )
        if done.result is None:
            outcome = Outcome.TIMEOUT if done.timed_out else Outcome.FAILED
            return failure(done.error, output=done.output, outcome=outcome)
        res = done.result
        if res.exit_code == 0:
            return ActionResult(
                outcome=Outcome.SUCCESS, output=done.output, exit_code=0, pid=res.pid, pgid=res.pgid
            )
        return failure(
            f"{action.command}: {describe_exit(res.exit_code, res.signal)}",
            output=done.output,
            exit_code=res.exit_code,
            transient=res.exit_code == 5,  # the daemon was unreachable (e.g. restarting)
        )

    return handle


def executor(deps: ExecDeps) -> ActionRun[SlashAction]:
    """The registry's hook: the installed command layer (``deps.slash``), else a
    permanent failure saying none is installed."""
    if deps.slash is not None:
        return deps.slash

    async def not_installed(action: SlashAction, ctx: RunContext) -> ActionResult:
        return failure(
            f"cannot run {action.command!r}: slash commands need the daemon's "
            "command layer, which is not installed in this daemon"
        )

    return not_installed
