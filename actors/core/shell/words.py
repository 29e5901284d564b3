"""The shell syntax the policy reads, pure: tokens, simple commands and text helpers.

A command line is read into *simple commands* (:class:`Simple`): their words, with quotes
and escapes removed (:attr:`Word.value`), their redirections and here-documents, and the
control operator after them. Text that only the running shell knows — a parameter
expansion, a command substitution, an unquoted glob or brace expansion — is the
:data:`UNKNOWN` mark in a value. Lexer: :mod:`gnomon.actors.core.shell.lex`; parser:
:mod:`gnomon.actors.core.shell.parse`; the model is in docs/security.md.
"""

from __future__ import annotations

import re

import attrs

__all__ = [
    "UNKNOWN",
    "UNKNOWN_WORD",
    "HereDoc",
    "Op",
    "Redirect",
    "Script",
    "Simple",
    "TooDeep",
    "Word",
    "ansi_c",
    "balanced_end",
    "dequote_literal",
    "dynamic",
]

#: Marks text known only at run time (a NUL can never be part of a real argument).
UNKNOWN = "\x00"
#: In a joined argv (``argv.template``): a word wholly known only at run time, which
#: may be no word at all — nothing, or a space and any text.
UNKNOWN_WORD = "\x01"

_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip
_HEX = {"x": (2, 16), "u": (4, 16), "U": (8, 16)}


def dynamic(text: str) -> bool:
    """Whether ``text`` holds run-time text (:data:`UNKNOWN` or :data:`UNKNOWN_WORD`)."""
    return UNKNOWN in text or UNKNOWN_WORD in text


class TooDeep(Exception):
    """The command nests substitutions or shells deeper than the policy analyses."""


@attrs.frozen
class Word:
    """A word as written (``raw``) and its value (``UNKNOWN`` for run-time text)."""

    raw: str
    value: str
    spaced: bool = True  # whitespace before it
    subst: bool = False  # it holds a command or process substitution


@attrs.frozen
class Op:
    """A control or redirection operator (``text``; ``raw`` includes an io number)."""

    text: str
    raw: str
    spaced: bool = True
    redirect: bool = False


@attrs.define
class HereDoc:
    """A here-document; ``body`` is filled when the lexer reaches it."""

    delimiter: str
    strip_tabs: bool
    expand: bool
    body: str | None = None
    subst: bool = False


@attrs.define
class Redirect:
    op: str
    target: Word | None
    heredoc: HereDoc | None = None


@attrs.define
class Simple:
    """One simple command: words (leading assignments flagged), redirections, raw text."""

    words: list[Word] = attrs.Factory(list)
    assign: list[bool] = attrs.Factory(list)
    redirects: list[Redirect] = attrs.Factory(list)
    pieces: list[tuple[bool, str, str]] = attrs.Factory(list)  # (spaced, raw, kind)
    keyword: bool = False  # starts with the ``time`` keyword (not part of ``raw``)
    started: bool = False  # a word that is no assignment came
    op: str = ""

    def add_word(self, word: Word, *, keyword: bool = False) -> None:
        is_assign = not keyword and not self.started and bool(_ASSIGN.match(word.raw))
        self.started = self.started or not (keyword or is_assign)
        self.words.append(word)
        self.assign.append(is_assign)
        if keyword:
            self.keyword = True
            return
        self.pieces.append((word.spaced, word.raw, "assign" if is_assign else "word"))

    def add_redirect(self, op: Op, redirect: Redirect) -> None:
        self.redirects.append(redirect)
        self.pieces.append((op.spaced, op.raw, "redirect"))
        if redirect.target is not None:
            self.pieces.append((redirect.target.spaced, redirect.target.raw, "target"))

    @property
    def raw(self) -> str:
        """The command as written, runs of unquoted blanks as one space."""
        out = ""
        for spaced, raw, _ in self.pieces:
            out += (" " if spaced and out else "") + raw
        return out

    @property
    def subst(self) -> bool:
        """Whether it runs a command substitution (``$(…)``, backticks, ``<(…)``)."""
        targets = [r.target for r in self.redirects if r.target is not None]
        docs = [r.heredoc for r in self.redirects if r.heredoc is not None]
        return any(w.subst for w in (*self.words, *targets)) or any(d.subst for d in docs)


@attrs.frozen
class Script:
    """A parsed command line: its simple commands, those inside substitutions, its text."""

    commands: tuple[Simple, ...]
    nested: tuple[Simple, ...]
    whole: str
    substituted: bool = False  # a substitution somewhere, in a command or not


def ansi_c(src: str, i: int) -> tuple[str, int]:
    """Decode the ``$'…'`` string whose text starts at ``i``; its value and end index.

    Like bash, a ``\\0`` escape ends the value (the rest of the string is dropped).
    """
    out: list[str] = []
    n, stopped = len(src), False
    while i < n and src[i] != "'":
        if src[i] != "\\" or i + 1 >= n:
            ch, i = src[i], i + 1
        else:
            ch, i = _escape(src, i + 1)
        stopped = stopped or "\0" in ch
        if not stopped:
            out.append(ch)
    return "".join(out), min(i + 1, n)


def _escape(src: str, i: int) -> tuple[str, int]:
    """The character of the ANSI-C escape whose letter is at ``i``, and the next index."""
    d = src[i]
    if d in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[d], i + 1
    if d in _HEX:
        width, base = _HEX[d]
        m = re.compile(rf"[0-9A-Fa-f]{{1,{width}}}").match(src, i + 1)
        if m is None or int(m.group(), base) > 0x10FFFF:
            return "\\" + d, i + 1
        return chr(int(m.group(), base)), m.end()
    if d in "01234567":
        m = re.compile("[0-7]{1,3}").match(src, i)
        assert m is not None
        return chr(int(m.group(), 8) & 0xFF), m.end()
    if d == "c" and i + 1 < len(src):
        return chr(ord(src[i + 1]) & 0x1F), i + 2
    return "\\" + d, i + 1


def dequote_literal(raw: str, *, bash: bool = True) -> str:
    """``raw`` with quotes and backslashes removed, expansions left as text (the delimiter
    of a here-document); bash also removes ``$'…'`` and ``$"…"`` quoting there."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if bash and c == "$" and raw[i + 1 : i + 2] == "'":
            text, i = ansi_c(raw, i + 2)
            out.append(text)
            continue
        if bash and c == "$" and raw[i + 1 : i + 2] == '"':
            i += 1
            c = '"'
        if c == "\\" and i + 1 < n:
            out.append(raw[i + 1])
            i += 2
        elif c in "'\"":
            j = raw.find(c, i + 1)
            j = n if j < 0 else j
            out.append(raw[i + 1 : j])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def balanced_end(src: str, i: int, depth: int) -> int:
    """The index just past the ``)`` that brings ``depth`` open parentheses to zero."""
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
        elif c in "'`":
            j = src.find(c, i + 1)
            i = n if j < 0 else j + 1
        elif c == '"':
            i = _dquote_end(src, i + 1)
        elif c in "()":
            depth += 1 if c == "(" else -1
            i += 1
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _dquote_end(src: str, i: int) -> int:
    while i < len(src) and src[i] != '"':
        i += 2 if src[i] == "\\" else 1
    return min(i + 1, len(src))
