"""The shell policy, pure: split a command into parts, classify each, decide.

**Decisions.** ``deny`` > ``ask`` > ``allow``; a command's decision is the strictest of
its parts'. A part is

1. ``deny`` when a deny pattern matches it (or matches the whole command);
2. otherwise ``ask`` when it contains command substitution (``$(…)``, backticks,
   ``<(…)``, ``>(…)``) — no allow rule clears that, only ``--i-know`` or a bypass;
3. otherwise ``allow`` when an allow pattern matches it, or the built-in read-only
   allowlist (:data:`READ_ONLY`, :data:`READ_ONLY_SUBCOMMANDS`) covers it;
4. otherwise ``ask``.

**Parts.** The command is split outside quotes at ``;``, ``&&``, ``||``, ``|``, ``|&``,
``&`` and newlines; ``# comments`` are dropped; grouping (``(…)``, ``{ …; }``) and the
keywords ``if then else elif while until do ! time`` in front of a part are stripped;
``fi done esac`` alone are no part at all. Commands inside a substitution are parts too
(so a deny rule still sees them). A part is *normalised*: runs of unquoted whitespace
become one space; quotes are kept as written.

**Patterns** are globs (:func:`fnmatch.fnmatchcase`, case-sensitive): ``*`` matches any
characters (spaces and ``/`` included), ``?`` one, ``[abc]`` a set. A pattern matches a
part when it matches the whole part, or the part's first words — ``terraform plan`` matches
``terraform plan`` and ``terraform plan -out x`` but not ``terraform planx``.

- An *allow* pattern is matched against the literal part only, and never against more
  than one part: ``make && make deploy`` needs both parts allowed. Allow patterns may not
  contain a command separator (:func:`validate_pattern`).
- A *deny* pattern is matched against the literal part, against its *core* (leading
  ``VAR=value`` assignments and wrappers such as ``sudo``, ``env``, ``nohup``, ``nice``,
  ``timeout 5``, ``exec``, ``command`` stripped and the program's directory dropped, so
  ``deny 'rm -rf *'`` also stops ``sudo /bin/rm -rf /``), against the string of a
  ``sh -c '…'``/``bash -c '…'`` argument, and against the whole normalised command (so
  ``deny 'curl * | sh'`` works).

**Built-in read-only allowlist.** A part is covered when it starts with no ``VAR=``
assignment, its program is named bare (no path) and is in :data:`READ_ONLY`, or its first
two words are in :data:`READ_ONLY_SUBCOMMANDS` (``kubectl get``, ``docker ps``…; the
subcommand must come right after the program), and it writes no file (``>``/``>>`` to
anything but ``/dev/null`` or another descriptor).

The policy is a guard-rail against mistakes and over-eager agents, not a sandbox: a
command that is allowed can still do anything its program can.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import shlex
from enum import StrEnum

import attrs

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
_KEYWORDS = frozenset("if then else elif while until do ! time { (".split())  # noqa: SIM905
_CLOSERS = frozenset("fi done esac } )".split())  # noqa: SIM905
_WRAPPERS = frozenset(
    "sudo doas env nohup nice ionice exec command builtin time stdbuf".split()  # noqa: SIM905
)
_SHELLS = frozenset("sh bash dash zsh ksh ash".split())  # noqa: SIM905
# fmt: on
_WITH_ARG = {"timeout": 1, "nice": 0}
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRITE = re.compile(r"(?<![<&0-9])[0-9]*>{1,2}\|?\s*(?!&)(\S+)|&>>?\s*(\S+)")
_HARMLESS_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_SEPARATORS = (";", "&&", "||", "|", "&", "\n")


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
    """The decision about one part and why (``rule`` is the matching pattern, if any)."""

    part: str
    decision: Decision
    rule: str | None = None
    why: str = ""


@attrs.frozen(kw_only=True)
class Classification:
    """A command's decision: the strictest part wins (``deciding`` is that part)."""

    command: str
    decision: Decision
    parts: tuple[PartVerdict, ...] = ()

    @property
    def deciding(self) -> PartVerdict | None:
        for part in self.parts:
            if part.decision is self.decision:
                return part
        return None


# --- splitting -----------------------------------------------------------------------------


@attrs.frozen
class _Split:
    whole: str  # the normalised command, separators kept
    parts: tuple[str, ...]
    bare: tuple[str, ...]  # the parts with quoted text blanked (for redirection checks)
    substituted: tuple[bool, ...]
    inner: tuple[str, ...]  # bodies of substitutions


def split_command(command: str) -> list[str]:
    """The normalised parts of ``command`` (see the module docstring), substitutions' too."""
    top = _split(command)
    parts = list(top.parts)
    for body in top.inner:
        parts.extend(split_command(body))
    return parts


def normalise(command: str) -> str:
    """``command`` with runs of unquoted whitespace collapsed and the ends stripped."""
    return _split(command).whole


def _split(command: str) -> _Split:
    parts: list[str] = []
    bares: list[str] = []
    subs: list[bool] = []
    inner: list[str] = []
    cur: list[str] = []
    bare: list[str] = []
    whole: list[str] = []
    sub = False
    quote = ""
    i, n = 0, len(command)

    def end_part() -> None:
        nonlocal cur, bare, sub
        text, b = "".join(cur).strip(), "".join(bare).strip()
        whole.append(text)
        if text:
            parts.append(text)
            bares.append(b)
            subs.append(sub)
        cur, bare, sub = [], [], False

    while i < n:
        c = command[i]
        if quote == "'":
            cur.append(c)
            bare.append("_" if c != "'" else c)
            quote = "" if c == "'" else quote
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            cur.append(command[i : i + 2])
            bare.append("__")
            i += 2
            continue
        if (c in "$<>" and command.startswith("(", i + 1)) or c == "`":
            body, j = _substitution(command, i)
            inner.append(body)
            cur.append(command[i:j])
            bare.append("_")
            sub = True
            i = j
            continue
        if quote == '"':
            cur.append(c)
            bare.append("_" if c != '"' else c)
            quote = "" if c == '"' else quote
            i += 1
            continue
        if c in "'\"":
            quote = c
            cur.append(c)
            bare.append(c)
            i += 1
            continue
        if c == "#" and (not cur or cur[-1] in (" ", "\t")):
            while i < n and command[i] != "\n":
                i += 1
            continue
        sep = _separator(command, i)
        if sep:
            end_part()
            whole.append(";" if sep == "\n" else sep)
            i += len(sep)
            continue
        if c in " \t\r":
            if cur and cur[-1] != " ":
                cur.append(" ")
                bare.append(" ")
            i += 1
            continue
        cur.append(c)
        bare.append(c)
        i += 1
    end_part()
    stripped = [_strip_grouping(p) for p in parts]
    keep = [k for k, p in enumerate(stripped) if p]
    return _Split(
        " ".join(w for w in whole if w).strip(" ;&|\n"),
        tuple(stripped[k] for k in keep),
        tuple(_strip_grouping(bares[k]) for k in keep),
        tuple(subs[k] for k in keep),
        tuple(inner),
    )


def _separator(command: str, i: int) -> str:
    """The separator starting at ``i`` (``""`` if none); ``>&``, ``&>``, ``>|`` are not."""
    c = command[i]
    prev = command[i - 1] if i else ""
    nxt = command[i + 1] if i + 1 < len(command) else ""
    if c == "\n" or c == ";":
        return c if nxt != ";" else ";;"
    if c == "&":
        if nxt == "&":
            return "&&"
        return "" if nxt == ">" or prev in "<>" else "&"
    if c == "|":
        if nxt == "|":
            return "||"
        if prev == ">":
            return ""
        return "|&" if nxt == "&" else "|"
    return ""


def _substitution(command: str, i: int) -> tuple[str, int]:
    """The body of the substitution starting at ``i`` and the index just past it."""
    if command[i] == "`":
        j = command.find("`", i + 1)
        j = len(command) if j < 0 else j
        return command[i + 1 : j], j + 1
    depth, j = 0, i + 1
    while j < len(command):
        if command[j] == "(":
            depth += 1
        elif command[j] == ")":
            depth -= 1
            if depth == 0:
                return command[i + 2 : j], j + 1
        j += 1
    return command[i + 2 :], len(command)


def _strip_grouping(part: str) -> str:
    """``part`` without grouping and keywords around it (``(cd x`` → ``cd x``)."""
    words = part.split(" ")
    while words and (words[0] in _KEYWORDS or words[0][:1] in ("(", "{")):
        rest = words[0].lstrip("({")
        if rest and words[0] not in _KEYWORDS:
            words[0] = rest
            break
        words.pop(0)
    while words and words[-1] in _CLOSERS:
        words.pop()
    extra = part.count(")") - part.count("(")
    while words and extra > 0 and words[-1].endswith(")"):
        words[-1] = words[-1][:-1]
        extra -= 1
        if not words[-1]:
            words.pop()
    text = " ".join(words).strip()
    return "" if text in _CLOSERS else text


# --- matching ------------------------------------------------------------------------------


def _matches(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(text, pattern + " *")


def _core(part: str) -> str:
    """The part without leading assignments and wrappers, its program's directory dropped."""
    words = part.split(" ")
    while words:
        w = words[0]
        if _ASSIGN.match(w):
            words.pop(0)
        elif w in _WRAPPERS or w in _WITH_ARG:
            words.pop(0)
            while words and words[0].startswith("-"):
                words.pop(0)
            for _ in range(_WITH_ARG.get(w, 0)):
                if words:
                    words.pop(0)
        else:
            break
    if words and "/" in words[0]:
        words[0] = words[0].rsplit("/", 1)[1] or words[0]
    return " ".join(words)


def _shell_c_argument(core: str) -> str | None:
    try:
        words = shlex.split(core)
    except ValueError:
        return None
    if len(words) >= 3 and words[0] in _SHELLS and words[1] == "-c":
        return words[2]
    return None


def _deny_forms(part: str) -> set[str]:
    """Every form of ``part`` a deny rule is matched against (module docstring)."""
    core = _core(part)
    forms = {part, core}
    nested = _shell_c_argument(core)
    if nested is not None:
        forms.add(normalise(nested))
        for inner in split_command(nested):
            forms |= _deny_forms(inner)
    return forms


def _denied_by(part: str, deny: tuple[str, ...]) -> str | None:
    if not deny:
        return None
    forms = _deny_forms(part)
    return next((rule for rule in deny if any(_matches(rule, f) for f in forms)), None)


def _writes_file(bare: str) -> bool:
    for m in _WRITE.finditer(bare):
        target = m.group(1) or m.group(2) or ""
        if target not in _HARMLESS_TARGETS:
            return True
    return False


def _builtin(part: str, bare: str) -> str | None:
    words = part.split(" ")
    if not words or _ASSIGN.match(words[0]) or _writes_file(bare):
        return None
    if words[0] in READ_ONLY:
        return f"built-in: {words[0]}"
    if len(words) > 1 and (words[0], words[1]) in READ_ONLY_SUBCOMMANDS:
        return f"built-in: {words[0]} {words[1]}"
    return None


# --- classification ------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def classify(command: str, rules: PolicyRules) -> Classification:
    """Classify ``command`` under ``rules`` (see the module docstring).

    Cached: both arguments and the answer are immutable, and a daemon sees the same
    few commands over and over (every create and every fire checks its command).
    """
    top = _split(command)
    whole = top.whole
    verdicts = [
        _classify_part(part, bare, sub, rules)
        for part, bare, sub in zip(top.parts, top.bare, top.substituted, strict=True)
    ]
    for body in top.inner:
        for inner in classify(body, rules).parts:
            if inner.decision is Decision.DENY:
                verdicts.append(inner)
    whole_rule = next((r for r in rules.deny if _matches(r, whole)), None) if top.parts else None
    if whole_rule is not None and not any(v.decision is Decision.DENY for v in verdicts):
        verdicts.insert(0, PartVerdict(part=whole, decision=Decision.DENY, rule=whole_rule))
    if not verdicts:
        return Classification(command=whole, decision=Decision.ALLOW)
    decision = max((v.decision for v in verdicts), key=lambda d: d.rank)
    return Classification(command=whole, decision=decision, parts=tuple(verdicts))


def _classify_part(part: str, bare: str, substituted: bool, rules: PolicyRules) -> PartVerdict:
    rule = _denied_by(part, rules.deny)
    if rule is not None:
        return PartVerdict(part=part, decision=Decision.DENY, rule=rule, why="deny rule")
    if substituted:
        why = "command substitution ($(…), backticks) needs confirmation"
        return PartVerdict(part=part, decision=Decision.ASK, why=why)
    rule = next((r for r in rules.allow if _matches(r, part)), None)
    if rule is not None:
        return PartVerdict(part=part, decision=Decision.ALLOW, rule=rule, why="allow rule")
    builtin = _builtin(part, bare) if rules.builtin else None
    if builtin is not None:
        return PartVerdict(part=part, decision=Decision.ALLOW, rule=builtin, why="read-only")
    return PartVerdict(part=part, decision=Decision.ASK, why="matches no allow rule")


# --- decisions and messages ----------------------------------------------------------------


def suggest_pattern(part: str) -> str:
    """An allow pattern a user could add for ``part``: its program and subcommand."""
    words = _core(part).split(" ")
    if len(words) > 1 and not words[1].startswith("-") and "=" not in words[1]:
        return f"{words[0]} {words[1]}"
    return words[0] if words else part


def validate_pattern(pattern: str, *, kind: str) -> str:
    """Normalise a rule pattern; allow patterns must name one command.

    Raises:
        InvalidInput: the pattern is empty, or an allow pattern contains a separator.
    """
    text = " ".join(pattern.split())
    if not text:
        raise InvalidInput("a policy pattern cannot be empty", token=pattern)
    if kind == "allow" and (len(_split(text).parts) != 1 or _split(text).substituted[0]):
        raise InvalidInput(
            f"allow pattern {pattern!r} spans several commands or a substitution; "
            "allow each command on its own (a compound command runs when every part is allowed)",
            token=pattern,
            accepted=("one command glob, e.g. 'terraform plan' or 'make *'",),
        )
    return text


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ways_out(pattern: str) -> str:
    return (
        "Ways out: (1) confirm this job with --i-know; "
        f"(2) allow it for good: gnomon policy allow {shlex.quote(pattern)}; "
        f"(3) for trusted CI only, ask an operator to set {BYPASS_ENV}=true on the daemon "
        "and set bypass_safety on the job"
    )


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
        raise Refused(
            f"shell command denied by policy: {_short(part.part)!r} matches deny rule "
            f"{part.rule!r}; deny rules win over --i-know, allow rules and bypass_safety. "
            f"To run it, remove the rule: gnomon policy remove {shlex.quote(part.rule or '')}",
            reason="policy",
            hint=f"gnomon policy remove {shlex.quote(part.rule or '')}",
        )
    if bypass and not bypass_enabled:
        pattern = suggest_pattern(part.part) if part is not None else "COMMAND"
        raise Refused(
            f"shell command refused: bypass_safety requires the operator to set "
            f"{BYPASS_ENV}=true on the daemon. {_ways_out(pattern)}",
            reason="policy",
            hint=f"drop bypass_safety and use --i-know, or ask an operator to set {BYPASS_ENV}",
        )
    if cls.decision is Decision.ASK and not i_know and not bypass and part is not None:
        pattern = suggest_pattern(part.part)
        raise Refused(
            f"shell command needs confirmation (policy: ask): {_short(part.part)!r} "
            f"{part.why}. {_ways_out(pattern)}",
            reason="policy",
            hint=f"add --i-know, or: gnomon policy allow {shlex.quote(pattern)}",
        )
    return cls
