"""The ``agent_task`` action: ``agent: TASK``, ``/run TASK``, ``/agent TASK``,
``worker NAME: TASK`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from gnomon.runtime.model.actions.shell import required
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap

_WORKER = re.compile(r"worker\s+(.*)", re.IGNORECASE | re.DOTALL)
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: ``/COMMAND ARGS``: the slash commands that are agent tasks are read here, the rest in
#: :mod:`~gnomon.runtime.model.actions.slash_cmd`.
SLASH = re.compile(r"/([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?", re.DOTALL)
_AGENT_SLASH = ("run", "agent")


@attrs.frozen(kw_only=True)
class AgentTaskAction:
    """Runs the agent command of profile ``profile`` (``agents.<profile>.cmd``) with ``task``."""

    TAG: ClassVar[str] = "agent_task"
    task: str
    profile: str = "default"


def _parse(rest: str, body: str) -> AgentTaskAction:
    return AgentTaskAction(task=required("agent:", "agent: TASK", rest, body))


def _match(body: str) -> AgentTaskAction | None:
    worker = _WORKER.fullmatch(body)
    if worker:
        return _worker(worker.group(1), body)
    slash = SLASH.fullmatch(body) if body.startswith("/") else None
    if slash and slash.group(1).lower() in _AGENT_SLASH:
        command, args = slash.group(1), (slash.group(2) or "").strip()
        return AgentTaskAction(task=required(f"/{command}", f"/{command} TASK", args, body))
    return None


def _worker(rest: str, body: str) -> AgentTaskAction:
    name, colon, task = rest.partition(":")
    forms = ("worker NAME: TASK",)
    if not colon:
        raise invalid(f"worker needs NAME: TASK, got {show(body)} (missing ':')", body, forms)
    name = name.strip()
    if not _PROFILE.fullmatch(name):
        raise invalid(f"bad worker name {show(name)}", name, ("letters, digits and _ . -",))
    return AgentTaskAction(
        task=required("worker", "worker NAME: TASK", task.strip(), body), profile=name
    )


def _format(a: AgentTaskAction) -> str:
    return f"agent: {a.task}" if a.profile == "default" else f"worker {a.profile}: {a.task}"


KIND = Kind(
    cls=AgentTaskAction,
    forms=("agent: TASK", "/run TASK", "/agent TASK", "worker NAME: TASK"),
    prefixes=(("agent:", _parse),),
    match=_match,
    format=_format,
    breaker_key=lambda a, keying: cap(f"agent:{a.profile}"),
    runs_local=lambda a: True,  # the agent command runs here (not a shell: no policy)
    secret_fields=("task",),
)
