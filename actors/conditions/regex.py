"""The ``regex`` evaluator: the condition command's chosen output stream matches.

Runs the command like :mod:`gnomon.actors.conditions.shell` (its outcome table applies);
the exit code is ignored, except that a non-matching run that exited 126/127 is a
permanent error, as is an invalid regex.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from gnomon.actors.conditions.shell import NOT_RUNNABLE, ShellEvaluator, error
from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.runtime.model.conditions import OutputCondition
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spawn import Stderr

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["evaluator"]


async def _regex(
    shell: ShellEvaluator, cond: OutputCondition, ctx: PollContext, redactor: Redactor
) -> Verdict:
    """``cond.pattern`` matches the chosen output stream of ``cond.command``."""
    try:
        pattern = re.compile(cond.pattern)
    except re.error as exc:
        return error(f"invalid regex /{cond.pattern}/: {exc}", transient=False)
    mode: Stderr = "merge" if cond.source == "combined" else "separate"
    run = await shell.run(cond.command, ctx, redactor, bypass=cond.bypass_safety, stderr=mode)
    if isinstance(run, Verdict):
        return run
    text = run.stderr if cond.source == "stderr" else run.stdout
    match = pattern.search(text)
    if match is not None:
        return Verdict(value=True, summary=f"{cond.source} matches: {shell.quote(match[0])}")
    code = run.result.exit_code
    if code in NOT_RUNNABLE:
        detail = shell.quote(run.stderr or run.stdout)
        return error(f"command cannot run (exit {code}): {detail}", transient=False)
    summary = f"{cond.source} does not match /{cond.pattern}/ (exit {code})"
    tail = shell.quote(text)
    return Verdict(value=False, summary=summary + (f": {tail}" if tail else ""))


def evaluator(deps: EvalDeps) -> ConditionCheck[OutputCondition]:
    """The registry's hook."""
    return partial(_regex, ShellEvaluator(deps.settings, deps.policy))
