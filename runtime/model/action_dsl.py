"""The action DSL of ``--do`` / ``--then`` / ``--fallback``
(docs/actions-and-conditions.md): parse and format, driven by the registry
(:data:`~gnomon.runtime.model.actions.ACTION_KINDS`); each type's forms live in its
module under ``runtime/model/actions/``.

Forms (keywords, prefixes and HTTP methods are case-insensitive)::

    shell: CMD | sh: CMD                      shell
    GET|POST|PUT|PATCH|DELETE URL [| BODY]    webhook (a JSON body sets application/json)
    llm: PROMPT                               llm_prompt
    agent: TASK | /run TASK | /agent TASK     agent_task, profile "default"
    worker NAME: TASK                         agent_task, profile NAME
    /COMMAND ARGS                             slash_cmd (the whole line)
    hook:EVENT                                hook
    noop | noop: MESSAGE                      noop

Every type's prefixes are tried first, then the forms without a prefix in registry order.
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

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.actions import ACTION_FORMS, ACTION_KINDS, Action, action_kind
from gnomon.runtime.model.actions.webhook import HTTP_METHODS
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.wire import from_json

__all__ = ["ACTION_FORMS", "HTTP_METHODS", "action_from_json", "format_action", "parse_action"]

_PREFIXES = tuple(pair for kind in ACTION_KINDS for pair in kind.prefixes)
_MATCHES = tuple(kind.match for kind in ACTION_KINDS if kind.match is not None)


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
    for prefix, build in _PREFIXES:
        if lower.startswith(prefix):
            action: Action = build(body[len(prefix) :].strip(), body)
            return action
    for match in _MATCHES:
        found: Action | None = match(body)
        if found is not None:
            return found
    raise invalid(
        f"cannot parse action {show(body)}",
        body,
        ACTION_FORMS,
        hint=f"to run a command, write: shell: {body}",
    )


def format_action(action: Action, *, strict: bool = False) -> str:
    """Write ``action`` in the DSL.

    Fields the DSL cannot express are dropped (see the module docstring), as are values it
    cannot carry (an empty command, a URL with spaces): the text may then not parse back.

    Raises:
        InvalidInput: only with ``strict=True``, when the text would not parse back to an
            equal action.
    """
    text = action_kind(action).format(action)
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
