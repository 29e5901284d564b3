"""Whether a glob can match a command that is only partly known, pure.

A *template* is text in which :data:`~gnomon.actors.core.shell.words.UNKNOWN` stands for
any text (empty, spaces and ``/`` included): a variable, a substitution, a glob the shell
expands; ``UNKNOWN_WORD`` for nothing, or a space and any text (a word that may vanish).
:func:`could_match` says whether some filling of the unknown pieces gives a text that
:func:`fnmatch.fnmatchcase` matches with the pattern — the "could match" of the policy
(docs/security.md). Without unknown pieces it is ``fnmatchcase`` itself.

The pattern is run as an NFA over its positions (a bit set), so the cost is linear in
the template's length times the pattern's.
"""

from __future__ import annotations

import fnmatch
import functools
import re

from gnomon.actors.core.shell.words import UNKNOWN, UNKNOWN_WORD, dynamic

__all__ = ["could_match"]


def could_match(pattern: str, template: str, *, unknown_excludes: str = "") -> bool:
    """Whether some text ``template`` can stand for matches the glob ``pattern``.

    ``unknown_excludes``: characters the unknown text never contains (as the pattern means
    them): a shell operator in a rule is never produced by an expansion.
    """
    if not dynamic(template):
        return fnmatch.fnmatchcase(template, pattern)
    nfa = _Nfa.of(pattern, unknown_excludes)
    state = nfa.closure(1)
    for c in template:
        if c == UNKNOWN:
            state = nfa.anything(state)
        elif c == UNKNOWN_WORD:  # nothing, or a space and any text
            state |= nfa.anything(nfa.step(state, " "))
        else:
            state = nfa.step(state, c)
        if not state:
            return False
    return bool(state & nfa.accept)


class _Nfa:
    """Positions ``0..n`` of a glob's tokens; bit ``k`` set: ``k`` tokens consumed."""

    def __init__(self, tokens: list[str | re.Pattern[str]], excluded: str) -> None:
        self.tokens = tokens
        self.stars = sum(1 << k for k, t in enumerate(tokens) if t == "*")
        self.accept = 1 << len(tokens)
        self._blocked = [isinstance(t, str) and t in excluded and t != "" for t in tokens]

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def of(pattern: str, excluded: str = "") -> _Nfa:
        return _Nfa(_tokens(pattern), excluded)

    def closure(self, state: int) -> int:
        """``state`` plus every position reached by letting stars match nothing."""
        while True:
            more = state | ((state & self.stars) << 1)
            if more == state:
                return state
            state = more

    def step(self, state: int, c: str) -> int:
        """The positions after reading the known character ``c``."""
        nxt = state & self.stars  # a star takes c and stays
        for k, tok in enumerate(self.tokens):
            if state >> k & 1 and tok != "*" and _accepts(tok, c):
                nxt |= 1 << (k + 1)
        return self.closure(nxt)

    def anything(self, state: int) -> int:
        """The positions after reading some unknown text: from each one, every later one
        up to a token only an excluded character matches."""
        out, reach = 0, False
        for k in range(len(self.tokens) + 1):
            reach = bool(state >> k & 1) or (reach and not self._blocked[k - 1])
            out |= reach << k
        return out


def _accepts(token: str | re.Pattern[str], c: str) -> bool:
    if isinstance(token, str):
        return token == "?" or token == c
    return token.fullmatch(c) is not None


def _tokens(pattern: str) -> list[str | re.Pattern[str]]:
    """The glob as tokens: ``"*"``, ``"?"``, a literal character, or a compiled ``[set]``."""
    out: list[str | re.Pattern[str]] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "[":
            j = i + 1
            j += pattern[j : j + 1] == "!"
            j += pattern[j : j + 1] == "]"
            j = pattern.find("]", j)
            if j >= 0:
                out.append(re.compile(fnmatch.translate(pattern[i : j + 1])))
                i = j + 1
                continue
        if c == "*" and out[-1:] == ["*"]:
            i += 1
            continue
        out.append(c)
        i += 1
    return out
