"""The ``noop`` executor: succeeds at once; the output is the message, or ``noop``
(redacted like every action's output, by :class:`~gnomon.actors.exec.executor.Executors`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import Outcome

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["executor"]


async def _run(action: NoopAction, ctx: RunContext) -> ActionResult:
    return ActionResult(outcome=Outcome.SUCCESS, output=action.message or "noop")


def executor(deps: ExecDeps) -> ActionRun[NoopAction]:
    """The registry's hook: nothing to set up."""
    return _run
