"""The ``regex`` condition: ``CMD ~= /RE/``, ``regex: CMD ~= /RE/``
(docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar, Literal

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import dsl_scan
from gnomon.runtime.model.dsl_scan import checked_regex, invalid, show, split_regex
from gnomon.runtime.model.kinds import Kind, PolicyCommand


@attrs.frozen(kw_only=True)
class OutputCondition:
    """The output of ``/bin/sh -c command`` (``source`` stream) matches ``pattern``."""

    TAG: ClassVar[str] = "regex"
    command: str
    pattern: str
    source: Literal["stdout", "stderr", "combined"] = "stdout"
    bypass_safety: bool = False


def _prefixed(rest: str, body: str) -> OutputCondition:
    regex = split_regex(rest)
    if regex is None:
        raise invalid(f"regex: needs CMD ~= /RE/, got {show(rest)}", rest, ("regex: CMD ~= /RE/",))
    return _output(regex[0], regex[1], body)


def _match(body: str) -> OutputCondition | None:
    """The bare form, tried after every prefix (``shell: x ~= /y/`` is a shell condition)."""
    regex = split_regex(body)
    return None if regex is None else _output(regex[0], regex[1], body)


def _output(command: str, pattern: str, body: str) -> OutputCondition:
    if not command:
        raise invalid(f"missing command before ~= in {show(body)}", body, ("CMD ~= /RE/",))
    return OutputCondition(command=command, pattern=checked_regex(pattern))


def _format(c: OutputCondition) -> str:
    from gnomon.runtime.model.condition_dsl import parse_condition  # the DSL drives this

    plain = f"{c.command} ~= /{dsl_scan.escape_slashes(c.pattern)}/"
    try:
        same = parse_condition(plain) == OutputCondition(command=c.command, pattern=c.pattern)
    except InvalidInput:
        same = False
    return plain if same else f"regex: {plain}"


KIND = Kind(
    cls=OutputCondition,
    forms=("CMD ~= /RE/",),
    prefixes=(("regex:", _prefixed),),
    match=_match,
    format=_format,
    breaker_key=lambda c, keying: keying.shell(c.command),
    policy_commands=lambda c: (PolicyCommand(c.command, c.bypass_safety),),
    runs_local=lambda c: True,
    secret_fields=("command",),
)
