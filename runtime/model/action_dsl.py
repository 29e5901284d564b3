"""The action DSL of ``--do`` / ``--then`` / ``--fallback``
(docs/actions-and-conditions.md): parse and format.

Forms (keywords, prefixes and HTTP methods are case-insensitive)::

    shell: CMD | sh: CMD                      shell
    GET|POST|PUT|PATCH|DELETE URL [| BODY]    webhook (a JSON body sets application/json)
    llm: PROMPT                               llm_prompt
    agent: TASK | /run TASK | /agent TASK     agent_task, profile "default"
    worker NAME: TASK                         agent_task, profile NAME
    /COMMAND ARGS                             slash_cmd (the whole line)
    hook:EVENT                                hook
    noop | noop: MESSAGE                      noop

A bare command (``open -a Docker``) is refused with a hint to write
``shell: open -a Docker``; so is a path such as ``/usr/local/bin/backup``, which would
otherwise read as a gnomon command.

:func:`format_action` writes the DSL back. Fields the DSL cannot express — shell
``expect_exit``/``bypass_safety``; webhook ``headers``, ``expect_status``, ``timeout``,
``max_response``, ``max_redirects``, ``secret`` and a ``content_type`` other than the one
the body implies; llm ``system``/``model``/token and cost caps — are dropped, so the text
is for display; ``strict=True`` refuses instead of dropping.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.actions import (
    Action,
    AgentTaskAction,
    HookAction,
    LlmPromptAction,
    NoopAction,
    ShellAction,
    SlashAction,
    WebhookAction,
)
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.wire import from_json

__all__ = ["ACTION_FORMS", "HTTP_METHODS", "action_from_json", "format_action", "parse_action"]

ACTION_FORMS: tuple[str, ...] = (
    "shell: CMD",
    "sh: CMD",
    "GET|POST|PUT|PATCH|DELETE URL [| BODY]",
    "llm: PROMPT",
    "agent: TASK",
    "/run TASK",
    "/agent TASK",
    "worker NAME: TASK",
    "/COMMAND ARGS",
    "hook:EVENT",
    "noop",
    "noop: MESSAGE",
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
JSON_CONTENT_TYPE = "application/json"

_WEBHOOK = re.compile(rf"({'|'.join(HTTP_METHODS)})(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)
_WORKER = re.compile(r"worker\s+(.*)", re.IGNORECASE | re.DOTALL)
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SLASH = re.compile(r"/([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?", re.DOTALL)
_EVENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:*-]*")
_AGENT_SLASH = ("run", "agent")


# --- parsing -------------------------------------------------------------------------------


def parse_action(text: str) -> Action:
    """Parse one action of the DSL.

    Raises:
        InvalidInput: the text matches no form (a bare command gets a ``shell:`` hint),
            or a part is invalid (URL, worker name, event name, empty task…); the
            message names the offending token and the accepted forms.
    """
    body = text.strip()
    if not body:
        raise invalid("empty action", text, ACTION_FORMS)
    lower = body.lower()
    if lower == "noop":
        return NoopAction()
    for prefix, build in _PREFIXES:
        if lower.startswith(prefix):
            return build(body[len(prefix) :].strip(), body)
    webhook = _WEBHOOK.fullmatch(body)
    if webhook:
        return _webhook(webhook.group(1).upper(), webhook.group(2) or "", body)
    worker = _WORKER.fullmatch(body)
    if worker:
        return _worker(worker.group(1), body)
    if body.startswith("/"):
        return _slash(body)
    raise invalid(
        f"cannot parse action {show(body)}",
        body,
        ACTION_FORMS,
        hint=f"to run a command, write: shell: {body}",
    )


def _required(kind: str, form: str, value: str, body: str) -> str:
    if not value:
        raise invalid(f"{kind} needs {form.split()[-1]}: {show(body)}", body, (form,))
    return value


def _shell(rest: str, body: str) -> Action:
    return ShellAction(command=_required("shell:", "shell: CMD", rest, body))


def _llm(rest: str, body: str) -> Action:
    return LlmPromptAction(prompt=_required("llm:", "llm: PROMPT", rest, body))


def _agent(rest: str, body: str) -> Action:
    return AgentTaskAction(task=_required("agent:", "agent: TASK", rest, body))


def _hook(rest: str, body: str) -> Action:
    if not _EVENT.fullmatch(rest):
        raise invalid(
            f"bad hook event {show(rest)}",
            rest,
            ("hook:EVENT with EVENT made of letters, digits and _ . : * -",),
        )
    return HookAction(event=rest)


def _noop(rest: str, body: str) -> Action:
    return NoopAction(message=rest or None)


def _webhook(method: str, rest: str, body: str) -> Action:
    target, bar, payload = rest.partition("|")
    url = target.strip()
    forms = (f"{method} http[s]://HOST[/PATH] [| BODY]",)
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not url:
        raise invalid(f"{method} needs a URL: {show(body)}", body, forms)
    if not ok or any(c.isspace() for c in url):
        hint = f"to run a command, write: shell: {body}"
        raise invalid(f"bad webhook URL {show(url)} in {show(body)}", url, forms, hint=hint)
    content = payload.strip() if bar else ""
    if not content:
        return WebhookAction(url=url, method=method)
    return WebhookAction(url=url, method=method, body=content, content_type=_content_type(content))


def _content_type(body: str) -> str | None:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return None
    return JSON_CONTENT_TYPE


def _worker(rest: str, body: str) -> Action:
    name, colon, task = rest.partition(":")
    forms = ("worker NAME: TASK",)
    if not colon:
        raise invalid(f"worker needs NAME: TASK, got {show(body)} (missing ':')", body, forms)
    name = name.strip()
    if not _PROFILE.fullmatch(name):
        raise invalid(f"bad worker name {show(name)}", name, ("letters, digits and _ . -",))
    return AgentTaskAction(
        task=_required("worker", "worker NAME: TASK", task.strip(), body), profile=name
    )


def _slash(body: str) -> Action:
    match = _SLASH.fullmatch(body)
    if not match:
        first = body.split()[0]
        hint = f"to run a program, write: shell: {body}" if "/" in first[1:] else None
        raise invalid(f"bad command {show(first)}", first, ("/COMMAND ARGS",), hint=hint)
    command, args = match.group(1), (match.group(2) or "").strip()
    if command.lower() in _AGENT_SLASH:
        return AgentTaskAction(task=_required(f"/{command}", f"/{command} TASK", args, body))
    return SlashAction(command=body)


_PREFIXES = (
    ("shell:", _shell),
    ("sh:", _shell),
    ("llm:", _llm),
    ("agent:", _agent),
    ("hook:", _hook),
    ("noop:", _noop),
)


# --- formatting ----------------------------------------------------------------------------


def format_action(action: Action, *, strict: bool = False) -> str:
    """Write ``action`` in the DSL.

    Fields the DSL cannot express are dropped (see the module docstring), as are values it
    cannot carry (an empty command, a URL with spaces): the text may then not parse back.

    Raises:
        InvalidInput: only with ``strict=True``, when the text would not parse back to an
            equal action.
    """
    text = _format(action)
    if strict and _reparsed(text) != action:
        raise InvalidInput(
            f"this action cannot be written in the DSL without loss: {show(text)}",
            token=text,
            accepted=("the JSON form of the action (--do-json)",),
        )
    return text


def action_from_json(text: str | bytes) -> Action:
    """The structured form of ``--do-json``, e.g. ``{"type": "webhook", "url": …}``.

    Raises:
        InvalidInput: not JSON, or not an action (details name each bad field).
    """
    action: Action = from_json(text, Action)
    return action


def _reparsed(text: str) -> Action | None:
    try:
        return parse_action(text)
    except InvalidInput:
        return None


def _format(a: Action) -> str:
    match a:
        case ShellAction(command=command):
            return f"shell: {command}"
        case WebhookAction(method=method, url=url, body=body):
            return f"{method} {url}" if body is None else f"{method} {url} | {body}"
        case LlmPromptAction(prompt=prompt):
            return f"llm: {prompt}"
        case AgentTaskAction(task=task, profile="default"):
            return f"agent: {task}"
        case AgentTaskAction(task=task, profile=profile):
            return f"worker {profile}: {task}"
        case SlashAction(command=command):
            return command
        case HookAction(event=event):
            return f"hook:{event}"
        case NoopAction(message=message):
            return "noop" if message is None else f"noop: {message}"
    raise TypeError(f"not an action: {a!r}")  # pragma: no cover - exhaustive
