"""The shell policy, pure: read a command into simple commands, classify each, decide.

**Decisions.** ``deny`` > ``ask`` > ``allow``; a command's decision is the strictest of
its parts' (its simple commands', wherever they are: in a pipeline, a group, a loop, a
substitution, the code of ``eval``/``sh -c``). A part is

1. ``deny`` when a deny rule matches one of its forms (:func:`classify`), or *could*
   match a form with text only known at run time, or the part runs shell code that is
   not known statically (a shell reading a pipe, ``eval "$x"``) and a deny rule exists;
2. otherwise ``ask`` when it contains command substitution (``$(…)``, backticks,
   ``<(…)``, ``>(…)``) — no allow rule clears that, only ``--i-know`` or a bypass;
3. otherwise ``allow`` when an allow pattern matches it as written, or the built-in
   read-only allowlist (:data:`READ_ONLY`, :data:`READ_ONLY_SUBCOMMANDS`) covers it;
4. otherwise ``ask``.

**Forms** a deny rule is matched against: the part as written; its argv with quotes and
escapes removed, leading assignments dropped, the program's directory dropped, and again
after each wrapper (``sudo``, ``env``, ``nice``, ``timeout``, ``xargs``…) with its options
(:mod:`gnomon.actors.core.shell.argv`); the whole line, as written and unquoted; and,
recursively, the commands of any shell code the part runs. Run-time text (``$X``,
``$(…)``, globs) is *unknown*: a rule naming one command *could match* when some filling
of the unknown text makes it match (:mod:`gnomon.actors.core.shell.glob_meet`).

**Patterns** are globs (:func:`fnmatch.fnmatchcase`, case-sensitive): ``*`` matches any
characters (spaces and ``/`` included), ``?`` one, ``[abc]`` a set. A pattern matches a
form when it matches all of it or its first words — ``terraform plan`` matches
``terraform plan -out x`` but not ``terraform planx``. *Allow* patterns name one command
(:func:`validate_pattern`) and match the part as written only. docs/security.md states
the model, what it catches and what it cannot.

The policy is a guard-rail against mistakes and over-eager agents, not a sandbox: a
command that is allowed can still do anything its program can.
"""

from __future__ import annotations

import functools
import re
import shlex
from enum import StrEnum

import attrs

from gnomon.actors.core.shell.argv import core
from gnomon.actors.core.shell.deny import DEEP_WHY, Hit, deny_hit, dialects, matches, whole_rule
from gnomon.actors.core.shell.parse import parse
from gnomon.actors.core.shell.words import UNKNOWN, UNKNOWN_WORD, Simple, TooDeep
from gnomon.runtime.errors import InvalidInput, Refused

__all__ = [
    "BYPASS_ENV",
    "READ_ONLY",
    "READ_ONLY_SUBCOMMANDS",
    "Classification",
    "Decision",
    "PartVerdict",
    "PolicyRules",
    "check",
    "classify",
    "normalise",
    "split_command",
    "suggest_pattern",
    "validate_pattern",
]

BYPASS_ENV = "GNOMON_SHELL_ALLOW_BYPASS"

# fmt: off
READ_ONLY: frozenset[str] = frozenset(
    ": true false test [ echo printf ls cat head tail wc grep egrep fgrep pwd whoami id "  # noqa: SIM905
    "date uname hostname uptime df du free nproc ps stat file which basename dirname "
    "realpath readlink sleep wait cd exit cut tr diff cmp md5sum sha1sum sha256sum jq "
    "pg_isready getent".split()
)
READ_ONLY_SUBCOMMANDS: frozenset[tuple[str, str]] = frozenset(
    (program, sub)
    for program, subs in (
        ("kubectl", "get describe logs version top explain api-resources"),
        ("docker", "ps inspect logs images version info"),
        ("git", "status log diff show rev-parse"),
        ("systemctl", "status is-active is-enabled is-failed list-units"),
        ("terraform", "show output validate version"),
        ("helm", "list status version"),
    )
    for sub in subs.split()
)
# fmt: on
_HARMLESS_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_WRITES = frozenset((">", ">>", ">|", "&>", "&>>", "<>"))
_DUP = re.compile(r"[0-9]+-?|-")
_SUBST_WHY = "command substitution ($(…), backticks) needs confirmation"


class Decision(StrEnum):
    """A policy decision, from most to least permissive."""

    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Decision.ALLOW: 0, Decision.ASK: 1, Decision.DENY: 2}


@attrs.frozen
class PolicyRules:
    """The operator's rules (``policy.toml``) plus whether the built-in list applies."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    builtin: bool = True


@attrs.frozen(kw_only=True)
class PartVerdict:
    """The decision about one part and why (``rule`` is the matching pattern, if any).

    ``known`` is ``False`` when the deny rule only *could* match (run-time text).
    """

    part: str
    decision: Decision
    rule: str | None = None
    why: str = ""
    known: bool = True


@attrs.frozen(kw_only=True)
class Classification:
    """A command's decision: the strictest part wins (``deciding`` is that part)."""

    command: str
    decision: Decision
    parts: tuple[PartVerdict, ...] = ()

    @property
    def deciding(self) -> PartVerdict | None:
        """The first part with the command's decision, a certain match before a possible one."""
        strictest = [p for p in self.parts if p.decision is self.decision]
        return next((p for p in strictest if p.known), strictest[0] if strictest else None)


# --- reading ---------------------------------------------------------------------------------


def split_command(command: str) -> list[str]:
    """The parts of ``command`` as written: its simple commands, substitutions' too."""
    script = parse(command)
    return [c.raw for c in (*script.commands, *script.nested)]


def normalise(command: str) -> str:
    """``command`` with runs of unquoted blanks collapsed, separators spaced, no comments."""
    return parse(command).whole


# --- classification ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def classify(command: str, rules: PolicyRules) -> Classification:
    """Classify ``command`` under ``rules`` (see the module docstring).

    When bash and dash could read the line differently (``$'…'``, ``&>``, ``${…}``…) it
    is read both ways and the stricter answer wins. Cached: both arguments and the answer
    are immutable, and a daemon sees the same few commands over and over.
    """
    text = command.replace(UNKNOWN, "").replace(UNKNOWN_WORD, "")
    readings = [_classify(text, rules, bash=bash) for bash in dialects(text)]
    return max(readings, key=lambda c: c.decision.rank)


def _classify(text: str, rules: PolicyRules, *, bash: bool) -> Classification:
    try:
        script = parse(text, bash=bash)
    except TooDeep:
        decision = Decision.DENY if rules.deny else Decision.ASK
        rule = rules.deny[0] if rules.deny else None
        part = PartVerdict(part=text, decision=decision, rule=rule, why=DEEP_WHY, known=False)
        return Classification(command=text, decision=decision, parts=(part,))
    verdicts = [_part_verdict(c, rules) for c in script.commands]
    for simple in script.nested:
        hit = deny_hit(simple, rules.deny)
        if hit is not None:
            verdicts.append(_deny_verdict(simple, hit))
    if script.substituted and not any(c.subst for c in script.commands):
        verdicts.append(PartVerdict(part=script.whole, decision=Decision.ASK, why=_SUBST_WHY))
    whole = whole_rule(script, rules.deny) if script.commands else None
    if whole is not None and not any(v.decision is Decision.DENY and v.known for v in verdicts):
        first = PartVerdict(part=script.whole, decision=Decision.DENY, rule=whole, why="deny rule")
        verdicts.insert(0, first)
    if not verdicts:
        return Classification(command=script.whole, decision=Decision.ALLOW)
    decision = max((v.decision for v in verdicts), key=lambda d: d.rank)
    return Classification(command=script.whole, decision=decision, parts=tuple(verdicts))


def _deny_verdict(simple: Simple, hit: Hit) -> PartVerdict:
    return PartVerdict(
        part=simple.raw, decision=Decision.DENY, rule=hit.rule, why=hit.why, known=hit.known
    )


def _part_verdict(simple: Simple, rules: PolicyRules) -> PartVerdict:
    hit = deny_hit(simple, rules.deny)
    if hit is not None:
        return _deny_verdict(simple, hit)
    part = simple.raw
    if simple.subst:
        return PartVerdict(part=part, decision=Decision.ASK, why=_SUBST_WHY)
    rule = next((r for r in rules.allow if matches(r, part)), None)
    if rule is not None:
        return PartVerdict(part=part, decision=Decision.ALLOW, rule=rule, why="allow rule")
    builtin = _builtin(simple) if rules.builtin else None
    if builtin is not None:
        return PartVerdict(part=part, decision=Decision.ALLOW, rule=builtin, why="read-only")
    return PartVerdict(part=part, decision=Decision.ASK, why="matches no allow rule")


def _builtin(simple: Simple) -> str | None:
    """The read-only allowlist: a listed program named bare, first, writing no file."""
    pieces = simple.pieces
    if not pieces or _writes(simple):
        return None
    if all(kind in ("redirect", "target") for *_, kind in pieces):
        return "built-in: redirection"
    first, kind = pieces[0][1], pieces[0][2]
    if kind != "word":
        return None
    if first in READ_ONLY:
        return f"built-in: {first}"
    second = pieces[1] if len(pieces) > 1 else None
    if second is not None and second[2] == "word" and (first, second[1]) in READ_ONLY_SUBCOMMANDS:
        return f"built-in: {first} {second[1]}"
    return None


def _writes(simple: Simple) -> bool:
    """Whether a redirection writes a file (not ``/dev/null`` nor another descriptor)."""
    for r in simple.redirects:
        target = r.target.raw if r.target is not None else ""
        if target in _HARMLESS_TARGETS:
            continue
        if r.op in _WRITES or (r.op == ">&" and not _DUP.fullmatch(target)):
            return True
    return False


# --- decisions and messages ------------------------------------------------------------------


def suggest_pattern(part: str) -> str | None:
    """An allow pattern that would let ``part`` run: its words as written up to the program
    (past wrappers) and its subcommand; ``None`` when no allow rule can cover it."""
    try:
        script = parse(part)
    except TooDeep:
        return None
    if len(script.commands) != 1 or script.substituted:
        return None
    simple = script.commands[0]
    index, argv = core(simple)
    if not argv or UNKNOWN in argv[0]:
        return None
    sub = argv[1] if len(argv) > 1 else ""
    end = index + 1 + (bool(sub) and sub[0] != "-" and "=" not in sub and UNKNOWN not in sub)
    raws = []
    for _, raw, kind in simple.pieces[: end - simple.keyword]:
        if kind not in ("word", "assign"):
            return None
        raws.append(re.sub(r"([*?\[])", r"[\1]", raw))
    pattern = " ".join(raws)
    usable = pattern and " ".join(pattern.split()) == pattern  # survives validate_pattern
    return pattern if usable and matches(pattern, simple.raw) else None


def validate_pattern(pattern: str, *, kind: str) -> str:
    """Normalise a rule pattern; allow patterns must name one command.

    Raises:
        InvalidInput: the pattern is empty, or an allow pattern contains a separator.
    """
    text = " ".join(pattern.split())
    if not text:
        raise InvalidInput("a policy pattern cannot be empty", token=pattern)
    if kind == "allow" and not _one_plain_command(text):
        raise InvalidInput(
            f"allow pattern {pattern!r} spans several commands or a substitution; "
            "allow each command on its own (a compound command runs when every part is allowed)",
            token=pattern,
            accepted=("one command glob, e.g. 'terraform plan' or 'make *'",),
        )
    return text


def _one_plain_command(text: str) -> bool:
    try:
        script = parse(text)
    except TooDeep:
        return False
    return len(script.commands) == 1 and not script.substituted


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ways_out(pattern: str | None, why: str) -> str:
    if pattern is not None:
        second = f"allow it for good: gnomon policy allow {shlex.quote(pattern)}"
    elif why == _SUBST_WHY:
        second = "no allow rule clears command substitution: put it in a script and allow that"
    else:
        second = "allow it for good with gnomon policy allow and a glob of the command as written"
    return (
        f"Ways out: (1) confirm this job with --i-know; (2) {second}; "
        f"(3) for trusted CI only, ask an operator to set {BYPASS_ENV}=true on the daemon "
        "and set bypass_safety on the job"
    )


def _denied(part: PartVerdict) -> Refused:
    remove = f"gnomon policy remove {shlex.quote(part.rule or '')}"
    how = "matches" if part.known else "could match"
    unknown = "" if part.known else f" ({part.why}; spell the command out)"
    return Refused(
        f"shell command denied by policy: {_short(part.part)!r} {how} deny rule "
        f"{part.rule!r}{unknown}; deny rules win over --i-know, allow rules and "
        f"bypass_safety. To run it, remove the rule: {remove}",
        reason="policy",
        hint=remove,
    )


def _suggested(part: PartVerdict | None) -> tuple[str | None, str]:
    """The allow pattern a refusal suggests for ``part`` and why ``part`` was held (only
    worked out when refusing: most commands are allowed)."""
    if part is None:
        return None, ""
    return suggest_pattern(part.part), part.why


def check(
    command: str,
    rules: PolicyRules,
    *,
    i_know: bool = False,
    bypass: bool = False,
    bypass_enabled: bool = False,
) -> Classification:
    """Classify ``command`` and refuse it unless it may run.

    Deny always refuses (even with ``i_know`` or an enabled bypass). ``bypass`` without
    ``bypass_enabled`` refuses. An enabled bypass clears ``ask``; so does ``i_know``.

    Raises:
        Refused: ``reason="policy"``, with a message naming the part, the rule and the
            ways out.
    """
    cls = classify(command, rules)
    part = cls.deciding
    if cls.decision is Decision.DENY and part is not None:
        raise _denied(part)
    if bypass and not bypass_enabled:
        pattern, why = _suggested(part)
        raise Refused(
            f"shell command refused: bypass_safety requires the operator to set "
            f"{BYPASS_ENV}=true on the daemon. {_ways_out(pattern, why)}",
            reason="policy",
            hint=f"drop bypass_safety and use --i-know, or ask an operator to set {BYPASS_ENV}",
        )
    if cls.decision is Decision.ASK and not i_know and not bypass and part is not None:
        pattern, why = _suggested(part)
        allow = f", or: gnomon policy allow {shlex.quote(pattern)}" if pattern else ""
        raise Refused(
            f"shell command needs confirmation (policy: ask): {_short(part.part)!r} "
            f"{part.why}. {_ways_out(pattern, why)}",
            reason="policy",
            hint=f"add --i-know{allow}",
        )
    return cls
