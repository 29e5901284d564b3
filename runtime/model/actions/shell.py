"""The ``shell`` action: ``shell: CMD`` / ``sh: CMD`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, PolicyCommand


@attrs.frozen(kw_only=True)
class ShellAction:
    """``/bin/sh -c command`` in its own process group; success when it exits ``expect_exit``."""

    TAG: ClassVar[str] = "shell"
    command: str
    expect_exit: int = 0
    bypass_safety: bool = False


def required(kind: str, form: str, value: str, body: str) -> str:
    """``value``, or the error that ``kind`` needs the last word of ``form``."""
    if not value:
        raise invalid(f"{kind} needs {form.split()[-1]}: {show(body)}", body, (form,))
    return value


def _parse(rest: str, body: str) -> ShellAction:
    return ShellAction(command=required("shell:", "shell: CMD", rest, body))


KIND = Kind(
    cls=ShellAction,
    forms=("shell: CMD", "sh: CMD"),
    prefixes=(("shell:", _parse), ("sh:", _parse)),
    format=lambda a: f"shell: {a.command}",
    breaker_key=lambda a, keying: keying.shell(a.command),
    policy_commands=lambda a: (PolicyCommand(a.command, a.bypass_safety),),
    runs_local=lambda a: True,
    secret_fields=("command",),
)
