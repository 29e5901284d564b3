"""Whether a glob can match a command that is only partly known, pure.

A *template* is text in which :data:`~gnomon.actors.core.shell_words.UNKNOWN` stands for
any text (empty, spaces and ``/`` included): a variable, a substitution, a glob the shell
expands. :func:`could_match` says whether some filling of the unknown pieces gives a text
that :func:`fnmatch.fnmatchcase` matches with the pattern — the "could match" of the
policy (docs/security.md). Without unknown pieces it is ``fnmatchcase`` itself.

The pattern is run as an NFA over its positions (a bit set), so the cost is linear in
the template's length whatever the pattern.
"""

from __future__ import annotations

import fnmatch
import functools
import re

from gnomon.actors.core.shell_words import UNKNOWN

__all__ = ["could_match"]


def could_match(pattern: str, template: str) -> bool:
    """Whether some text ``template`` can stand for matches the glob ``pattern``."""
    if UNKNOWN not in template:
        return fnmatch.fnmatchcase(template, pattern)
    nfa = _Nfa.of(pattern)
    state = nfa.closure(1)
    for c in template:
        state = nfa.anything(state) if c == UNKNOWN else nfa.step(state, c)
        if not state:
            return False
    return bool(state & nfa.accept)


class _Nfa:
    """Positions ``0..n`` of a glob's tokens; bit ``k`` set: ``k`` tokens consumed."""

    def __init__(self, tokens: list[str | re.Pattern[str]]) -> None:
        self.tokens = tokens
        self.stars = sum(1 << k for k, t in enumerate(tokens) if t == "*")
        self.accept = 1 << len(tokens)
        self._all = (self.accept << 1) - 1

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def of(pattern: str) -> _Nfa:
        return _Nfa(_tokens(pattern))

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
        """The positions after reading some unknown text: every one from the lowest on."""
        if not state:
            return 0
        low = state & -state
        return self._all & ~(low - 1)


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
