"""The ``shell`` evaluator and the condition-command runner it shares with ``regex`` and
the LLM check's context command.

Commands run as ``/bin/sh -c`` in their own process group, with the job's env and cwd,
after the shell policy's fire-time check; the poll timeout (``ctx.timeout``) kills the
group. ``poll_output_cap`` bytes of the output tail are kept for matching.

==============================================  ======  =========  =======
outcome                                         value   transient  breaker
==============================================  ======  =========  =======
**shell**: exit code == ``expect_exit``         true
any other exit code                             false              no
exit 126/127 (not executable / not found)       error   no         no
**regex**: the chosen stream matches            true
no match (exit code ignored)                    false
no match and exit 126/127                       error   no         no
invalid regex                                   error   no         no
**both**: refused by the shell policy           error   no         no
the program or cwd cannot be started            error   no         no
timed out (process group killed)                error   yes        yes
==============================================  ======  =========  =======
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import trio

from gnomon.actors.actions.shell import SH
from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.actors.exec.settings import ExecSettings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime.errors import Refused
from gnomon.runtime.model.conditions import ShellCondition
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spawn import ProcResult, SpawnFailed, Stderr, run_group

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["NOT_RUNNABLE", "CommandRun", "ShellEvaluator", "error", "evaluator"]

NOT_RUNNABLE = (126, 127)


def error(summary: str, *, transient: bool, breaker: bool = False) -> Verdict:
    """An error verdict."""
    return Verdict(value=None, summary=summary, transient=transient, breaker_failure=breaker)


@attrs.frozen
class CommandRun:
    """A finished condition command: its result and decoded, redacted streams."""

    result: ProcResult
    stdout: str
    stderr: str


class ShellEvaluator:
    """Runs condition commands."""

    def __init__(self, settings: ExecSettings, policy: ShellPolicy) -> None:
        self.settings = settings
        self.policy = policy

    async def run(
        self,
        command: str,
        ctx: PollContext,
        redactor: Redactor,
        *,
        bypass: bool = False,
        stderr: Stderr = "merge",
        cap: int | None = None,
    ) -> CommandRun | Verdict:
        """Run ``command`` for a poll: a :class:`CommandRun`, or the error verdict."""
        try:
            self.policy.check(command, i_know=ctx.i_know, bypass=bypass)
        except Refused as exc:
            return error(redactor.redact(exc.message), transient=False)
        keep = (cap or self.settings.poll_output_cap) + redactor.longest
        result = None
        with trio.move_on_after(ctx.timeout):
            try:
                result = await run_group(
                    [SH, "-c", command],
                    env=self.settings.child_environ(dict(ctx.env)),
                    cwd=ctx.cwd,
                    stderr=stderr,
                    keep=keep,
                    grace=self.settings.kill_grace,
                )
            except SpawnFailed as exc:
                return error(redactor.redact(exc.message), transient=False)
        if result is None:
            msg = f"command timed out after {ctx.timeout:g}s; process group killed"
            return error(msg, transient=True, breaker=True)
        return CommandRun(
            result,
            redactor.redact(result.stdout.decode("utf-8", errors="replace")),
            redactor.redact(result.stderr.decode("utf-8", errors="replace")),
        )

    def quote(self, text: str) -> str:
        """``text`` stripped, its tail cut to ``summary_cap`` characters."""
        cap = self.settings.summary_cap
        text = text.strip()
        return text if len(text) <= cap else "…" + text[-cap:]

    async def shell(self, cond: ShellCondition, ctx: PollContext, redactor: Redactor) -> Verdict:
        """``cond.command`` exits with ``cond.expect_exit``."""
        run = await self.run(cond.command, ctx, redactor, bypass=cond.bypass_safety)
        if isinstance(run, Verdict):
            return run
        code = run.result.exit_code
        tail = self.quote(run.stdout)
        summary = f"exit {code}" + (f": {tail}" if tail else "")
        if code == cond.expect_exit:
            return Verdict(value=True, summary=summary)
        if code in NOT_RUNNABLE:
            return error(f"command cannot run ({summary})", transient=False)
        return Verdict(value=False, summary=f"{summary} (expected exit {cond.expect_exit})")


def evaluator(deps: EvalDeps) -> ConditionCheck[ShellCondition]:
    """The registry's hook."""
    return ShellEvaluator(deps.settings, deps.policy).shell
