"""What executors and evaluators are configured with (the daemon builds it from config).

Config keys (docs/operations.md: each is also ``GNOMON_A_B``) map onto these fields:
``llm.base_url``/``llm.api_key``/``llm.model``/``llm.timeout``/``llm.prices``,
``agents.<profile>.cmd``/``.task_via``, ``hooks.<event>``, ``webhook.secrets.<name>``,
``secrets.env``, ``shell.allow_bypass`` (``GNOMON_SHELL_ALLOW_BYPASS``),
``shell.kill_grace``, ``docker.bin``, ``kubectl.bin``, ``kubectl.kubeconfig``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.redact import Redactor, looks_secret

__all__ = ["AgentProfile", "ExecSettings", "LlmPrice", "LlmSettings"]

KIB = 1024


@attrs.frozen(kw_only=True)
class LlmPrice:
    """USD per million tokens, input (prompt) and output (completion)."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        spent = prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        return spent / 1e6


@attrs.frozen(kw_only=True)
class LlmSettings:
    """An OpenAI-compatible endpoint: ``POST {base_url}/chat/completions``."""

    base_url: str | None = None
    api_key: str | None = None
    model: str = "gpt-4o-mini"
    timeout: float = 60.0
    prices: Mapping[str, LlmPrice] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class AgentProfile:
    """How to run an agent: an argv (never a shell line) and how it receives the task.

    ``task_via="arg"`` (default) replaces an argv element that is exactly ``{task}`` by
    the task, or appends the task as the last argument when there is none;
    ``task_via="stdin"`` writes the task to the agent's stdin and closes it.
    """

    command: tuple[str, ...]
    task_via: Literal["arg", "stdin"] = "arg"
    env: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_command_line(
        cls, line: str, *, task_via: Literal["arg", "stdin"] = "arg"
    ) -> AgentProfile:
        """A profile from a config string such as ``"claude -p {task}"`` (shell-like split).

        Raises:
            InvalidInput: the line is empty or its quoting is unbalanced.
        """
        try:
            argv = tuple(shlex.split(line))
        except ValueError as exc:
            raise InvalidInput(f"agent command {line!r}: {exc}", token=line) from None
        if not argv:
            raise InvalidInput("an agent command cannot be empty", token=line)
        return cls(command=argv, task_via=task_via)

    def argv(self, task: str) -> list[str]:
        """The argv that runs ``task``."""
        if self.task_via == "stdin":
            return list(self.command)
        if "{task}" in self.command:
            return [task if a == "{task}" else a for a in self.command]
        return [*self.command, task]


_DEFAULT_AGENT = AgentProfile(command=("claude", "-p"), task_via="arg")


@attrs.frozen(kw_only=True)
class ExecSettings:
    """Everything the executors and evaluators need besides the job itself.

    Attributes:
        home: the gnomon home; hook executables live in ``<home>/hooks/``.
        hooks: event → shell command lines configured in ``config.toml``.
        webhook_secrets: secret name → value, for ``X-Gnomon-Signature``.
        secret_env: names of env variables whose values are secrets: redacted from every
            output and never inherited by child processes.
        shell_allow_bypass: ``GNOMON_SHELL_ALLOW_BYPASS`` — ``bypass_safety`` counts only
            then.
        kill_grace: seconds between ``SIGTERM`` and ``SIGKILL`` of a process group.
        output_cap: bytes of an action's output tail kept (32 KiB).
        poll_output_cap: bytes of a condition command's output kept for matching.
        summary_cap: characters of output quoted in a poll's summary.
        http_body_cap: bytes of an HTTP condition's body read.
        llm_output_cap / llm_context_cap: answer and ``context_cmd`` output caps.
        hook_output_cap: bytes kept per hook command.
        environ: the environment children inherit (``None``: the daemon's ``os.environ``).
    """

    home: Path | None = None
    llm: LlmSettings = attrs.field(factory=LlmSettings)
    agents: Mapping[str, AgentProfile] = attrs.field(factory=lambda: {"default": _DEFAULT_AGENT})
    hooks: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    webhook_secrets: Mapping[str, str] = attrs.field(factory=dict)
    secret_env: tuple[str, ...] = ()
    shell_allow_bypass: bool = False
    kill_grace: float = 5.0
    output_cap: int = 32 * KIB
    poll_output_cap: int = 64 * KIB
    summary_cap: int = 400
    http_body_cap: int = 64 * KIB
    llm_output_cap: int = 16 * KIB
    llm_context_cap: int = 16 * KIB
    hook_output_cap: int = 4 * KIB
    docker_bin: str = "docker"
    kubectl_bin: str = "kubectl"
    kubeconfig: str | None = None
    environ: Mapping[str, str] | None = None

    def base_environ(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    def redactor(self) -> Redactor:
        """The daemon-wide redactor: configured secret env values, webhook secrets, the
        LLM key, and the daemon's own ``GNOMON_*`` variables whose names look secret."""
        environ = self.base_environ()
        values = [environ[n] for n in self._private_env() if n in environ]
        values += self.webhook_secrets.values()
        if self.llm.api_key:
            values.append(self.llm.api_key)
        return Redactor.of(values)

    def _private_env(self) -> list[str]:
        own = [n for n in self.base_environ() if n.startswith("GNOMON_") and looks_secret(n)]
        return [*self.secret_env, *own]

    def child_environ(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The environment of a job's child: the daemon's minus its secrets, plus ``extra``."""
        private = set(self._private_env())
        env = {k: v for k, v in self.base_environ().items() if k not in private}
        env.update(extra)
        return env
