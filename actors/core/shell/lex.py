"""The shell lexer of the policy, pure: words, operators, quoting and substitutions.

It reads a command line the way ``sh``/``bash`` do — backslashes, ``'…'``, ``"…"``,
``$'…'`` (ANSI-C) and ``$"…"`` quoting, line continuations, comments, io numbers,
here-documents — and gives each word its value with quotes removed. Run-time text
(``$NAME``, ``${…}``, ``$(…)``, backticks, ``$((…))``, unquoted ``*``/``?``/``[…]``/``{a,b}``)
becomes :data:`~gnomon.actors.core.shell.words.UNKNOWN`. The commands inside
substitutions, ``<(…)``, arithmetic and here-document expansions are parsed too and
collected in :attr:`Lexer.nested`.

``bash=False`` reads like ``dash``: no ``$'…'``/``$"…"``, no ``&>``/``|&``/``;&``, no
``((…))`` command (two subshells), single quotes are not special inside ``"${…}"``, ``$``
is plain text in a here-document delimiter, and a here-document inside ``$(…)`` ends only
at its exact delimiter line. The policy reads a line both ways when they could differ and
keeps the stricter answer (docs/security.md).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

from gnomon.actors.core.shell.words import (
    UNKNOWN,
    HereDoc,
    Op,
    Simple,
    TooDeep,
    Word,
    ansi_c,
    balanced_end,
)

__all__ = ["MAX_DEPTH", "Lexer", "SubParser"]

MAX_DEPTH = 24
_OPS_BASH = (";;&", "&>>", "<<<", "<<-", ";;", ";&", "&&", "||", "|&", "&>", "<<", "<>",
             "<&", ">>", ">&", ">|", ";", "&", "|", "<", ">", "(", ")")  # fmt: skip
_OPS_POSIX = tuple(o for o in _OPS_BASH if o not in {";;&", "&>>", "&>", "|&", ";&"})
_REDIRECTS = frozenset("< > >> >| <> <& >& &> &>> << <<- <<<".split())  # noqa: SIM905
_META = frozenset(" \t\n;&|()<>")
_IO_NUMBER = re.compile(r"[0-9]+(?=[<>])")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]")

#: Parses commands from a lexer: up to the ``)`` closing a substitution when asked.
SubParser = Callable[["Lexer", bool], list[Simple]]


class _Value:
    """A word's value under construction, with glob and brace expansion noticed."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.subst = False
        self.expands = False
        self._bracket = self._brace = self._list = False

    def lit(self, text: str) -> None:
        self.parts.append(text)

    def unknown(self, *, subst: bool = False) -> None:
        self.parts.append(UNKNOWN)
        self.subst = self.subst or subst

    def plain(self, c: str) -> None:
        """An unquoted character: ``*``/``?`` are unknown, ``[…]``/``{a,b}`` expand."""
        if c in "*?":
            self.unknown()
            return
        if c == "[":
            self._bracket = True
        elif c == "]" and self._bracket:
            self.expands = True
        elif c == "{":
            self._brace = True
        elif c == "," or (c == "." and self.parts[-1:] == ["."]):
            self._list = self._list or self._brace
        elif c == "}" and self._list:
            self.expands = True
        self.parts.append(c)

    def value(self) -> str:
        return UNKNOWN if self.expands else "".join(self.parts)


class Lexer:
    """Tokens of ``src``; ``parser`` reads the commands of ``$(…)`` from this lexer."""

    def __init__(self, src: str, *, bash: bool, parser: SubParser, level: int = 0) -> None:
        self.src, self.i, self.bash = src, 0, bash
        self.parser, self.level = parser, level
        self.nested: list[Simple] = []
        self.heredocs: list[HereDoc] = []
        self.literal_dollar = False  # dash reads a here-document delimiter without $ expansions
        self._ops = _OPS_BASH if bash else _OPS_POSIX

    def next(self) -> Word | Op | None:
        """The next token, or ``None`` at the end; a newline reads pending here-documents."""
        spaced = self._blanks()
        src, start = self.src, self.i
        if start >= len(src):
            return None
        c = src[start]
        if c == "\n":
            self.i += 1
            self._heredocs()
            return Op("\n", "\n", spaced)
        if c in "<>" and src.startswith("(", start + 1):
            return self._word(spaced)
        if self.bash and src.startswith("((", start):
            end = balanced_end(src, start + 2, 2)
            self.child(src[start + 2 : max(end - 2, start + 2)])
            self.i = end
            return Word(src[start:end], src[start:end], spaced, subst=True)
        m = _IO_NUMBER.match(src, start)
        self.i = m.end() if m else start
        if src[self.i] in _META:
            op = next(o for o in self._ops if src.startswith(o, self.i))
            self.i += len(op)
            return Op(op, src[start : self.i], spaced, op in _REDIRECTS)
        return self._word(spaced)

    def child(self, text: str) -> None:
        """Parse ``text`` (a backtick or arithmetic body) and keep its commands as nested."""
        if self.level >= MAX_DEPTH:
            raise TooDeep
        lexer = Lexer(text, bash=self.bash, parser=self.parser, level=self.level + 1)
        self.nested.extend(self.parser(lexer, False))
        self.nested.extend(lexer.nested)

    def expand_heredoc(self, text: str) -> tuple[str, bool]:
        """The value of an unquoted here-document body, and whether it substitutes."""
        lexer = Lexer(text, bash=self.bash, parser=self.parser, level=self.level + 1)
        value = _Value()
        while lexer.i < len(text):
            c = text[lexer.i]
            if c == "\\" and text[lexer.i + 1 : lexer.i + 2] in ("$", "`", "\\", "\n"):
                value.lit(text[lexer.i + 1] if text[lexer.i + 1] != "\n" else "")
                lexer.i += 2
            elif c in "$`":
                lexer._expansion(value, dq=True)
            else:
                value.lit(c)
                lexer.i += 1
        self.nested.extend(lexer.nested)
        return "".join(value.parts), value.subst

    # --- blanks and words --------------------------------------------------------------

    def _blanks(self) -> bool:
        src, spaced = self.src, False
        while self.i < len(src):
            c = src[self.i]
            if c in " \t":
                spaced, self.i = True, self.i + 1
            elif c == "\\" and src.startswith("\n", self.i + 1):
                self.i += 2
            elif c == "#":
                end = src.find("\n", self.i)
                self.i, spaced = (len(src) if end < 0 else end), True
            else:
                break
        return spaced

    def _word(self, spaced: bool) -> Word:
        src, start, value = self.src, self.i, _Value()
        while self.i < len(src):
            c = src[self.i]
            if c in "<>" and src.startswith("(", self.i + 1):
                self.i += 2
                self.nested.extend(self._sub())
                value.unknown(subst=True)
            elif c in _META:
                break
            elif c == "\\":
                nxt = src[self.i + 1 : self.i + 2]
                value.lit("" if nxt == "\n" else nxt or "\\")
                self.i += 2
            elif c == "'":
                end = src.find("'", self.i + 1)
                end = len(src) if end < 0 else end
                value.lit(src[self.i + 1 : end])
                self.i = end + 1
            elif c == '"':
                self._dquote(value)
            elif c in "$`":
                self._expansion(value, dq=False)
            else:
                value.plain(c)
                self.i += 1
        self.i = min(self.i, len(src))
        return Word(src[start : self.i], value.value(), spaced, value.subst)

    def _dquote(self, value: _Value) -> None:
        src = self.src
        self.i += 1
        while self.i < len(src) and src[self.i] != '"':
            c = src[self.i]
            if c == "\\" and self.i + 1 < len(src):
                d = src[self.i + 1]
                value.lit("" if d == "\n" else d if d in '$`"\\' else "\\" + d)
                self.i += 2
            elif c in "$`":
                self._expansion(value, dq=True)
            else:
                value.lit(c)
                self.i += 1
        self.i = min(self.i + 1, len(src))

    # --- expansions ----------------------------------------------------------------------

    def _expansion(self, value: _Value, *, dq: bool) -> None:
        """``$…`` or a backtick at ``self.i``: its value into ``value``."""
        src, i = self.src, self.i
        nxt = src[i + 1 : i + 2]
        if src[i] == "$" and self.literal_dollar:
            value.lit("$")
            self.i += 1
        elif src[i] == "`":
            self._backtick(value, dq=dq)
        elif src.startswith("((", i + 1):
            end = balanced_end(src, i + 3, 2)
            self.child(src[i + 3 : max(end - 2, i + 3)])
            self.i = end
            value.unknown(subst=True)
        elif nxt == "(":
            self.i += 2
            self.nested.extend(self._sub())
            value.unknown(subst=True)
        elif nxt == "{":
            self.i += 2
            self._parameter(value, dq=dq)
        elif nxt == "'" and self.bash and not dq:
            text, self.i = ansi_c(src, i + 2)
            value.lit(text)
        elif nxt == '"' and self.bash and not dq:
            self.i += 1
            self._dquote(value)
        else:
            m = _NAME.match(src, i + 1)
            special = nxt and nxt in "@*#?-$!"
            self.i = m.end() if m else i + (2 if special else 1)
            value.unknown() if (m or special) else value.lit("$")

    def _sub(self) -> list[Simple]:
        """The commands of the substitution whose ``(`` was just read."""
        with self._deeper():
            return self.parser(self, True)

    @contextlib.contextmanager
    def _deeper(self) -> Iterator[None]:
        """One level of nesting more; deeper than :data:`MAX_DEPTH` raises ``TooDeep``."""
        if self.level >= MAX_DEPTH:
            raise TooDeep
        self.level += 1
        try:
            yield
        finally:
            self.level -= 1

    def _parameter(self, value: _Value, *, dq: bool) -> None:
        """``${…}`` up to its first unquoted ``}``; substitutions inside are parsed."""
        with self._deeper():
            subst = self._parameter_text(dq=dq)
        value.unknown(subst=subst)

    def _parameter_text(self, *, dq: bool) -> bool:
        src, inner = self.src, _Value()
        while self.i < len(src) and src[self.i] != "}":
            c = src[self.i]
            if c == "\\":
                self.i += 2
            elif c == "'" and not (dq and not self.bash):
                end = src.find("'", self.i + 1)
                self.i = len(src) if end < 0 else end + 1
            elif c == '"':
                self._dquote(inner)
            elif c in "$`":
                self._expansion(inner, dq=dq)
            else:
                self.i += 1
        self.i = min(self.i + 1, len(src))
        return inner.subst

    def _backtick(self, value: _Value, *, dq: bool) -> None:
        src, j, body = self.src, self.i + 1, []
        while j < len(src) and src[j] != "`":
            if src[j] == "\\" and j + 1 < len(src):
                d = src[j + 1]
                body.append(d if d in "$`\\" or (dq and d == '"') else "\\" + d)
                j += 2
            else:
                body.append(src[j])
                j += 1
        self.i = min(j + 1, len(src))
        self.child("".join(body))
        value.unknown(subst=True)

    # --- here-documents ------------------------------------------------------------------

    def _heredocs(self) -> None:
        """Read the bodies of the here-documents started on the line just ended."""
        while self.heredocs:
            doc = self.heredocs.pop(0)
            lines, cut = self._body(doc)
            doc.body = "".join(lines)
            if doc.expand:
                doc.body, doc.subst = self.expand_heredoc(doc.body)
            if cut:
                return  # the rest of the line is code; later bodies start after it

    def _body(self, doc: HereDoc) -> tuple[list[str], bool]:
        """The lines of ``doc`` up to its delimiter line, and whether the delimiter only
        started a line: inside ``$(…)`` bash 5 ends the body at a line that starts with
        the delimiter and holds a ``)``, and reads the rest of that line as code."""
        src, lines = self.src, list[str]()
        while self.i < len(src):
            start = self.i
            end = src.find("\n", start)
            end = len(src) if end < 0 else end
            line = src[start:end].lstrip("\t") if doc.strip_tabs else src[start:end]
            self.i = min(end + 1, len(src))
            if line == doc.delimiter:
                return lines, False
            rest = line[len(doc.delimiter) :]
            if self.bash and self.level and line.startswith(doc.delimiter) and ")" in rest:
                self.i = end - len(rest)
                return lines, True
            lines.append(line + "\n")
        return lines, False
