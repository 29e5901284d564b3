"""Action types: what a fire does (docs/actions-and-conditions.md).

Pure descriptions; executors live in the actors. The DSL is in
:mod:`gnomon.runtime.model.action_dsl`. ``TAG`` is the public ``action_type`` (metric
label, ``--do-json`` ``type`` key, token allow-lists).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model import bounds


@attrs.frozen(kw_only=True)
class ShellAction:
    """``/bin/sh -c command`` in its own process group; success when it exits ``expect_exit``."""

    TAG: ClassVar[str] = "shell"
    command: str
    expect_exit: int = 0
    bypass_safety: bool = False


@attrs.frozen(kw_only=True)
class WebhookAction:
    """An HTTP request. Success is ``expect_status``, or any 2xx when it is ``None``.

    ``secret`` names a configured secret (``webhook.secrets.<name>``) used to sign the
    body with HMAC-SHA256; the secret's value is never stored in the job.
    """

    TAG: ClassVar[str] = "webhook"
    url: str
    method: str = "POST"
    body: str | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int | None = None
    timeout: float = attrs.field(default=30.0, validator=bounds.positive_duration)
    max_response: int = 8192
    max_redirects: int = 5
    secret: str | None = None


@attrs.frozen(kw_only=True)
class LlmPromptAction:
    """One OpenAI-compatible chat completion; records tokens and cost.

    ``max_total_tokens`` / ``max_cost_usd`` cap what the job may spend over its life.
    """

    TAG: ClassVar[str] = "llm_prompt"
    prompt: str
    system: str | None = None
    model: str | None = None
    max_tokens: int = 512
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None


@attrs.frozen(kw_only=True)
class AgentTaskAction:
    """Runs the agent command of profile ``profile`` (``agents.<profile>.cmd``) with ``task``."""

    TAG: ClassVar[str] = "agent_task"
    task: str
    profile: str = "default"


@attrs.frozen(kw_only=True)
class SlashAction:
    """A gnomon command run by the daemon through the CLI's command layer, e.g.
    ``/jobs cancel --tag env=staging``; never with more authority than the job's owner."""

    TAG: ClassVar[str] = "slash_cmd"
    command: str


@attrs.frozen(kw_only=True)
class HookAction:
    """Runs the hook commands configured for ``event`` with the event JSON on stdin."""

    TAG: ClassVar[str] = "hook"
    event: str


@attrs.frozen(kw_only=True)
class NoopAction:
    """Does nothing and succeeds; ``message`` becomes its output."""

    TAG: ClassVar[str] = "noop"
    message: str | None = None


Action = (
    ShellAction
    | WebhookAction
    | LlmPromptAction
    | AgentTaskAction
    | SlashAction
    | HookAction
    | NoopAction
)
ACTION_TYPES: tuple[type, ...] = (
    ShellAction,
    WebhookAction,
    LlmPromptAction,
    AgentTaskAction,
    SlashAction,
    HookAction,
    NoopAction,
)
ACTION_TAGS: tuple[str, ...] = tuple(t.TAG for t in ACTION_TYPES)  # type: ignore[attr-defined]
