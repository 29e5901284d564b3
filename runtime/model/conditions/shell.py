"""The ``shell`` condition: ``shell: CMD`` / ``sh: CMD`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model.dsl_scan import invalid
from gnomon.runtime.model.kinds import Kind, PolicyCommand


@attrs.frozen(kw_only=True)
class ShellCondition:
    """``/bin/sh -c command`` exits with ``expect_exit``."""

    TAG: ClassVar[str] = "shell"
    command: str
    expect_exit: int = 0
    bypass_safety: bool = False


def _parse(rest: str, body: str) -> ShellCondition:
    if not rest:
        raise invalid("shell: needs a command", body, ("shell: CMD",))
    return ShellCondition(command=rest)


KIND = Kind(
    cls=ShellCondition,
    forms=("shell: CMD", "sh: CMD"),
    prefixes=(("shell:", _parse), ("sh:", _parse)),
    format=lambda c: f"shell: {c.command}",
    breaker_key=lambda c, keying: keying.shell(c.command),
    policy_commands=lambda c: (PolicyCommand(c.command, c.bypass_safety),),
    runs_local=lambda c: True,
    secret_fields=("command",),
)
