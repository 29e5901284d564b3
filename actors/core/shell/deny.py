"""Deny-rule matching of the shell policy, pure: every form of every command a line runs.

A simple command is denied when a deny rule matches one of its forms — as written, and
each argv of :func:`gnomon.actors.core.shell.argv.forms` (quotes removed, assignments,
directories and wrappers stripped) — or the whole line, as written or with its commands
unquoted; when the shell code it runs (``eval``, ``sh -c``, a here-document fed to a
shell) holds a denied command, looked at recursively; when a rule naming one command
*could* match a form with run-time text (:func:`gnomon.actors.core.shell.glob_meet.could_match`);
and, whatever the rules, when it runs shell code that is not known statically (a shell
reading a pipe) and any deny rule exists. The model is in docs/security.md.
"""

from __future__ import annotations

import functools

import attrs

from gnomon.actors.core.shell.argv import code, core, forms, template
from gnomon.actors.core.shell.glob_meet import could_match
from gnomon.actors.core.shell.parse import parse
from gnomon.actors.core.shell.words import Script, Simple, TooDeep, dynamic

__all__ = [
    "CODE_WHY",
    "DEEP_WHY",
    "DYNAMIC_WHY",
    "Hit",
    "deny_hit",
    "dialects",
    "matches",
    "whole_rule",
]

_BASH_ONLY = ("$'", '$"', "&>", "|&", ";&", "${", "((")  # bash and dash may read these apart
_SUBSTITUTIONS = ("$(", "<(", ">(")  # with a here-document inside, too
_MAX_CODE_DEPTH = 8
_OPS = {"\n": ";", "(": "", ")": ""}
DYNAMIC_WHY = "part of it is only known at run time: $VAR, $(…), a glob"
CODE_WHY = (
    "it runs shell code only known at run time: a shell reading a pipe or stdin, "
    "eval or sh -c of a variable"
)
DEEP_WHY = "it nests substitutions or shells too deeply to analyse"


@attrs.frozen
class Hit:
    """A deny rule that matches a command (``known``) or could match it."""

    rule: str
    why: str = "deny rule"
    known: bool = True


def dialects(text: str) -> tuple[bool, ...]:
    """Read as bash (``True``), and also as dash when the two could differ."""
    differ = any(m in text for m in _BASH_ONLY) or (
        "<<" in text and any(m in text for m in _SUBSTITUTIONS)
    )
    return (True, False) if differ else (True,)


def matches(pattern: str, form: str) -> bool:
    """Whether ``pattern`` matches (or could match) all of ``form`` or its first words.

    In a rule naming several commands (``curl * | sh``) the operators are operators: run-time
    text, which is data, is not read as producing them.
    """
    excluded = "" if _one_command(pattern) else ";&|\n"
    return any(could_match(p, form, unknown_excludes=excluded) for p in (pattern, pattern + " *"))


@functools.lru_cache(maxsize=1024)
def _one_command(pattern: str) -> bool:
    """Whether a deny pattern names a single command (``curl * | sh`` does not)."""
    try:
        return len(parse(pattern).commands) <= 1
    except TooDeep:
        return False


def deny_hit(simple: Simple, deny: tuple[str, ...], depth: int = 0) -> Hit | None:
    """The deny rule that matches ``simple`` (or could), looking into the code it runs."""
    if not deny:
        return None
    texts = [simple.raw, *(template(argv) for argv in forms(simple))]
    known = [t for t in texts if not dynamic(t)]
    rule = next((r for r in deny if any(matches(r, t) for t in known)), None)
    if rule is not None:
        return Hit(rule)
    unknown_code = False
    for body in code(simple):
        hit = _code_hit(body, deny, depth + 1) if body is not None else None
        unknown_code = unknown_code or body is None
        if hit is not None:
            return hit
    partial = [t for t in texts if dynamic(t)]
    rule = next((r for r in deny if any(matches(r, t) for t in partial)), None)
    if rule is not None:
        return Hit(rule, DYNAMIC_WHY, known=False)
    return Hit(deny[0], CODE_WHY, known=False) if unknown_code else None


def _code_hit(body: str, deny: tuple[str, ...], depth: int) -> Hit | None:
    """The deny rule that shell code ``body`` (run by ``eval``, ``sh -c``…) hits."""
    if depth > _MAX_CODE_DEPTH:
        return Hit(deny[0], DEEP_WHY, known=False)
    for bash in dialects(body):
        try:
            script = parse(body, bash=bash)
        except TooDeep:
            return Hit(deny[0], DEEP_WHY, known=False)
        whole = whole_rule(script, deny)
        if whole is not None:
            return Hit(whole)
        for simple in (*script.commands, *script.nested):
            hit = deny_hit(simple, deny, depth)
            if hit is not None:
                return hit
    return None


def whole_rule(script: Script, deny: tuple[str, ...]) -> str | None:
    """A deny rule matching the whole line, as written or with its commands unquoted."""
    unquoted = " ".join(f"{template(core(c)[1])} {_OPS.get(c.op, c.op)}" for c in script.commands)
    texts = [t.strip() for t in (script.whole, unquoted) if t.strip() and not dynamic(t)]
    return next((r for r in deny if any(matches(r, t) for t in texts)), None)
