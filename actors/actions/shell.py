"""The ``shell`` executor: ``/bin/sh -c COMMAND`` in its own process group.

- The shell policy is re-checked at fire time (a deny added after admission wins); a
  refusal is a permanent failure that does not count for the breaker.
- Environment: the daemon's minus its secrets (``secrets.env``, secret-looking
  ``GNOMON_*``), plus ``GNOMON_JOB_ID``, ``GNOMON_JOB_NAME``, ``GNOMON_RUN_ID``,
  ``GNOMON_FIRE_TIME``, ``GNOMON_ATTEMPT``, plus the job's ``--env``. Working directory:
  the job's ``--cwd``, else the daemon's.
- Output: stdout and stderr merged; the last ``output_cap`` (32 KiB) kept, redacted.
- Success when the exit code equals ``expect_exit``; anything else is a permanent failure
  that counts for the breaker. The action timeout (``ctx.timeout``) kills the group
  (``SIGTERM``, grace, ``SIGKILL``) and gives outcome ``timeout``, transient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnomon.actors.exec.common import describe_exit, failure, run_env, run_process
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime.errors import Refused
from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.enums import Outcome

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["SH", "ShellExecutor", "executor"]

SH = "/bin/sh"


class ShellExecutor:
    """Runs :class:`ShellAction`\\ s."""

    def __init__(self, settings: ExecSettings, policy: ShellPolicy) -> None:
        self.settings = settings
        self.policy = policy

    async def run(self, action: ShellAction, ctx: RunContext) -> ActionResult:
        """Run ``action``; cancellation kills its process group and propagates."""
        redactor = self.settings.redactor().with_env(ctx.env)
        try:
            self.policy.check(action.command, i_know=ctx.i_know, bypass=action.bypass_safety)
        except Refused as exc:
            return failure(redactor.redact(exc.message))
        env = self.settings.child_environ({**run_env(ctx), **ctx.env})
        done = await run_process(
            [SH, "-c", action.command],
            settings=self.settings,
            redactor=redactor,
            env=env,
            cwd=ctx.cwd,
            cap=self.settings.output_cap,
            timeout=ctx.timeout,
            on_spawn=ctx.on_spawn,
            tap=ctx.tap,
        )
        if done.result is None:
            outcome = Outcome.TIMEOUT if done.timed_out else Outcome.FAILED
            return failure(
                done.error,
                output=done.output,
                outcome=outcome,
                transient=done.timed_out,
                breaker=done.timed_out,
            )
        res = done.result
        if res.exit_code == action.expect_exit:
            return ActionResult(
                outcome=Outcome.SUCCESS,
                output=done.output,
                exit_code=res.exit_code,
                pid=res.pid,
                pgid=res.pgid,
            )
        return failure(
            f"{describe_exit(res.exit_code, res.signal)}, expected exit {action.expect_exit}",
            output=done.output,
            breaker=True,
            exit_code=res.exit_code,
            pid=res.pid,
            pgid=res.pgid,
        )


def executor(deps: ExecDeps) -> ActionRun[ShellAction]:
    """The registry's hook: runs ``shell`` actions under the home's shell policy."""
    return ShellExecutor(deps.settings, deps.policy).run
