"""The ``slash_cmd`` action: ``/COMMAND ARGS`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model.actions.agent_task import SLASH
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap


@attrs.frozen(kw_only=True)
class SlashAction:
    """A gnomon command run by the daemon through the CLI's command layer, e.g.
    ``/jobs cancel --tag env=staging``; never with more authority than the job's owner."""

    TAG: ClassVar[str] = "slash_cmd"
    command: str


def _match(body: str) -> SlashAction | None:
    """Every ``/…`` line that is not an agent task (those are matched first)."""
    if not body.startswith("/"):
        return None
    if not SLASH.fullmatch(body):
        first = body.split()[0]
        hint = f"to run a program, write: shell: {body}" if "/" in first[1:] else None
        raise invalid(f"bad command {show(first)}", first, ("/COMMAND ARGS",), hint=hint)
    return SlashAction(command=body)


def _key(a: SlashAction) -> str:
    word = a.command.strip().lstrip("/@").split(maxsplit=1)
    return cap(f"slash:{word[0] if word else ''}")


KIND = Kind(
    cls=SlashAction,
    forms=("/COMMAND ARGS",),
    match=_match,
    format=lambda a: a.command,
    breaker_key=lambda a, keying: _key(a),
    secret_fields=("command",),
)
