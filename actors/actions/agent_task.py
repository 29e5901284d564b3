"""The ``agent_task`` executor: the operator-configured agent command of a profile.

It runs the argv of agent profile ``action.profile`` (``agents.<profile>.cmd``)
in its own process group, like a shell action but never through a shell: the task is an
argv element (``{task}`` placeholder, else the last argument) or, with ``task_via =
"stdin"``, the agent's stdin. The environment also carries ``GNOMON_TASK``. Exit 0 is
success; anything else a permanent failure that counts for the breaker. An unknown
profile or a missing program fails permanently. The shell policy does not apply: the
command is the operator's configuration, and the task is data, not shell text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnomon.actors.exec.common import failure, process_result, run_env, run_process
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.actions import AgentTaskAction

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["AgentExecutor", "executor"]


class AgentExecutor:
    """Runs :class:`AgentTaskAction`\\ s with the configured agent profiles."""

    def __init__(self, settings: ExecSettings) -> None:
        self.settings = settings

    async def run(self, action: AgentTaskAction, ctx: RunContext) -> ActionResult:
        """Run the agent; cancellation kills its process group and propagates."""
        profile = self.settings.agents.get(action.profile)
        if profile is None:
            known = ", ".join(sorted(self.settings.agents)) or "none"
            return failure(
                f"no agent profile {action.profile!r} (configure agents.{action.profile}.cmd; "
                f"known: {known})"
            )
        redactor = self.settings.redactor().with_env(ctx.env).with_env(profile.env)
        extra = {**run_env(ctx), **profile.env, **ctx.env, "GNOMON_TASK": action.task}
        stdin = action.task.encode() if profile.task_via == "stdin" else None
        done = await run_process(
            profile.argv(action.task),
            settings=self.settings,
            redactor=redactor,
            env=self.settings.child_environ(extra),
            cwd=ctx.cwd,
            cap=self.settings.output_cap,
            timeout=ctx.timeout,
            stdin=stdin,
            on_spawn=ctx.on_spawn,
            tap=ctx.tap,
        )
        return process_result(done)


def executor(deps: ExecDeps) -> ActionRun[AgentTaskAction]:
    """The registry's hook: runs ``agent_task`` actions with the configured profiles."""
    return AgentExecutor(deps.settings).run
