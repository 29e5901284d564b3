"""The ``hook`` executor: the operator-configured commands of an event.

A hook action runs, for event ``E``, every command line of ``hooks.E`` (``/bin/sh -c``), then
the executable ``<home>/hooks/E`` or, if that is a directory, every executable in it in
name order (argv ``[path]``). Each gets the event JSON on stdin (``event``, ``job_id``,
``job_name``, ``run_id``, ``fire_time``, ``attempt``, ``owner``) and ``GNOMON_EVENT`` in
its env, and keeps ``hook_output_cap`` bytes of output. All run (the action's timeout
bounds them together); the action fails if any fails. No hook for the event is a success
with output ``no hook configured for event E``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from gnomon.actors.actions.shell import SH
from gnomon.actors.exec.common import failure, process_result, run_env, run_process
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.actions import HookAction
from gnomon.runtime.model.enums import Outcome

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["HookExecutor", "executor", "hook_commands"]


def hook_commands(settings: ExecSettings, event: str) -> list[list[str]]:
    """The argvs that hook ``event`` runs, in order (module docstring)."""
    argvs = [[SH, "-c", line] for line in settings.hooks.get(event, ())]
    if settings.home is None or "/" in event or event in (".", ".."):
        return argvs
    path = Path(settings.home) / "hooks" / event
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and os.access(p, os.X_OK))
        argvs += [[str(p)] for p in files]
    elif path.is_file() and os.access(path, os.X_OK):
        argvs.append([str(path)])
    return argvs


@attrs.frozen
class _HookRun:
    label: str
    result: ActionResult


class HookExecutor:
    """Runs :class:`HookAction`\\ s."""

    def __init__(self, settings: ExecSettings) -> None:
        self.settings = settings

    async def run(self, action: HookAction, ctx: RunContext) -> ActionResult:
        """Run every hook of the event; cancellation kills the running one and propagates."""
        argvs = hook_commands(self.settings, action.event)
        if not argvs:
            return ActionResult(
                outcome=Outcome.SUCCESS, output=f"no hook configured for event {action.event}"
            )
        payload = json.dumps(
            {
                "event": action.event,
                "job_id": ctx.job_id,
                "job_name": ctx.job_name,
                "run_id": ctx.run_id,
                "fire_time": ctx.fire_time.isoformat(),
                "attempt": ctx.attempt,
                "owner": str(ctx.owner),
            }
        ).encode()
        redactor = self.settings.redactor().with_env(ctx.env)
        env = self.settings.child_environ({**run_env(ctx), **ctx.env, "GNOMON_EVENT": action.event})
        runs = []
        for argv in argvs:
            done = await run_process(
                argv,
                settings=self.settings,
                redactor=redactor,
                env=env,
                cwd=ctx.cwd,
                cap=self.settings.hook_output_cap,
                stdin=payload,
                on_spawn=ctx.on_spawn,
                tap=ctx.tap,
            )
            runs.append(_HookRun(argv[-1] if argv[0] != SH else argv[2], process_result(done)))
        return _combine(runs)


def _combine(runs: list[_HookRun]) -> ActionResult:
    lines = []
    for run in runs:
        status = run.result.error or "exit 0"
        lines.append(f"[hook {run.label}] {status}\n{run.result.output}".rstrip())
    output = "\n".join(lines)
    failed = [r for r in runs if r.result.outcome is not Outcome.SUCCESS]
    if not failed:
        return ActionResult(outcome=Outcome.SUCCESS, output=output, exit_code=0)
    first = failed[0]
    return failure(
        f"{len(failed)} of {len(runs)} hook(s) failed; first: {first.label}: {first.result.error}",
        output=output,
        breaker=True,
        exit_code=first.result.exit_code,
    )


def executor(deps: ExecDeps) -> ActionRun[HookAction]:
    """The registry's hook: runs ``hook`` actions."""
    return HookExecutor(deps.settings).run
