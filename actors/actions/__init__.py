"""The executors of the action types, one module per type (named after its ``TAG``), and
their registry :data:`EXECUTORS` (docs/architecture.md, "Actions and conditions").

Each module's ``executor(deps)`` builds the type's run function from the daemon's
:class:`~gnomon.actors.exec.executor.ExecDeps`; the type itself, its DSL, breaker key and
policy view are in ``runtime/model/actions/<tag>.py``. ``tests/unit/test_registries.py``
checks that both registries list the same types and that every hook is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gnomon.actors.actions import agent_task, hook, llm_prompt, noop, shell, slash_cmd, webhook

if TYPE_CHECKING:
    from collections.abc import Callable

    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["EXECUTORS"]

#: ``TAG`` → the type's ``executor(deps)`` hook.
EXECUTORS: dict[str, Callable[[ExecDeps], ActionRun[Any]]] = {
    "shell": shell.executor,
    "webhook": webhook.executor,
    "llm_prompt": llm_prompt.executor,
    "agent_task": agent_task.executor,
    "slash_cmd": slash_cmd.executor,
    "hook": hook.executor,
    "noop": noop.executor,
}
