"""Property tests of the shell policy's normaliser: spelling a command differently never
changes whether a deny rule stops it (actors/core/shell/rules.py, docs/security.md)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from unit.shell_strategies import Spelled, arguments, glob_escape, programs, spelled

from gnomon.actors.core.shell.rules import Decision, PolicyRules, classify


def deny_rule(program: str, args: tuple[str, ...], suffix: str) -> str:
    return glob_escape(" ".join((program, *args))) + suffix


@settings(max_examples=300)
@given(case=spelled(), suffix=st.sampled_from(["", "*", " *"]))
def test_any_spelling_of_a_denied_command_is_denied(case: Spelled, suffix: str) -> None:
    """For a deny rule naming a program and arguments, every quoting, escaping, path,
    wrapper chain and eval/sh -c nesting of that command is denied, naming the rule."""
    rule = deny_rule(case.program, case.args, suffix if case.extra else suffix.strip())
    verdict = classify(case.command, PolicyRules(deny=(rule,)))
    assert verdict.decision is Decision.DENY, case.command
    assert verdict.deciding is not None
    assert verdict.deciding.rule == rule
    assert verdict.deciding.known or case.dynamic, verdict.deciding


@settings(max_examples=300)
@given(
    case=spelled(forbidden="9", dash_safe=True),
    program=programs(),
    args=st.lists(arguments(), max_size=3),
    suffix=st.sampled_from(["", "*", " *"]),
)
def test_quoting_does_not_turn_a_benign_command_into_deny(
    case: Spelled, program: str, args: list[str], suffix: str
) -> None:
    """A command no deny rule names is not denied however it is quoted, wrapped or nested
    (the rule's program has a ``9``, the command has none)."""
    rule = deny_rule(program + "9", tuple(args), suffix)
    verdict = classify(case.command, PolicyRules(deny=(rule,)))
    assert verdict.decision is not Decision.DENY, (case.command, verdict.deciding)
