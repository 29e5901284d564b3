"""Action types: what a fire does (docs/actions-and-conditions.md), one module per type.

Pure descriptions and their DSL, breaker-key and policy hooks (:class:`~gnomon.runtime.
model.kinds.Kind`); executors live in ``actors/actions``. The DSL driver is
:mod:`gnomon.runtime.model.action_dsl`. ``TAG`` is the public ``action_type`` (metric
label, ``--do-json`` ``type`` key, token allow-lists).

:data:`ACTION_KINDS` is the model-side registry: adding an action type adds its module
here, its class to :data:`Action`, and its kind to :data:`ACTION_KINDS` (in DSL order:
:data:`ACTION_FORMS` and error messages list the forms in this order).
"""

from __future__ import annotations

from typing import Any

from gnomon.runtime.model.actions import (
    agent_task,
    hook,
    llm_prompt,
    noop,
    shell,
    slash_cmd,
    webhook,
)
from gnomon.runtime.model.actions.agent_task import AgentTaskAction
from gnomon.runtime.model.actions.hook import HookAction
from gnomon.runtime.model.actions.llm_prompt import LlmPromptAction
from gnomon.runtime.model.actions.noop import NoopAction
from gnomon.runtime.model.actions.shell import ShellAction
from gnomon.runtime.model.actions.slash_cmd import SlashAction
from gnomon.runtime.model.actions.webhook import WebhookAction
from gnomon.runtime.model.kinds import Kind, KindIndex

__all__ = [
    "ACTIONS",
    "ACTION_FORMS",
    "ACTION_KINDS",
    "ACTION_TAGS",
    "ACTION_TYPES",
    "Action",
    "AgentTaskAction",
    "HookAction",
    "LlmPromptAction",
    "NoopAction",
    "ShellAction",
    "SlashAction",
    "WebhookAction",
    "action_kind",
]

Action = (
    ShellAction
    | WebhookAction
    | LlmPromptAction
    | AgentTaskAction
    | SlashAction
    | HookAction
    | NoopAction
)
#: The registry, in DSL order.
ACTIONS = KindIndex(
    "an action",
    (
        shell.KIND,
        webhook.KIND,
        llm_prompt.KIND,
        agent_task.KIND,
        slash_cmd.KIND,
        hook.KIND,
        noop.KIND,
    ),
)
ACTION_KINDS: tuple[Kind[Any], ...] = ACTIONS.kinds
ACTION_TYPES: tuple[type, ...] = ACTIONS.types
ACTION_TAGS: tuple[str, ...] = ACTIONS.tags
ACTION_FORMS: tuple[str, ...] = ACTIONS.forms


def action_kind(action: Action) -> Kind[Any]:
    """The kind of ``action``.

    Raises:
        TypeError: ``action`` is not an action.
    """
    return ACTIONS.of(action)
