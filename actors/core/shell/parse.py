"""The shell parser of the policy, pure: a command line into its simple commands.

It follows the shell grammar as far as the policy needs: lists and pipelines (``;``,
``&``, ``&&``, ``||``, ``|``, ``|&``, newlines), subshells and groups, the reserved
words (``if then else elif fi while until do done for select case in esac function !
time { }``) in command position, ``case`` patterns, function definitions and array
assignments. Every simple command anywhere — inside a group, a loop, a function body, a
substitution — comes out as a :class:`~gnomon.actors.core.shell.words.Simple`.
"""

from __future__ import annotations

from gnomon.actors.core.shell.lex import Lexer
from gnomon.actors.core.shell.words import (
    UNKNOWN,
    HereDoc,
    Op,
    Redirect,
    Script,
    Simple,
    Word,
    dequote_literal,
)

__all__ = ["parse"]

_SKIPPED = frozenset("{ } ! if then else elif while until do fi done coproc esac".split())  # noqa: SIM905
_SEPARATORS = frozenset((";;", ";&", ";;&", ";", "&", "&&", "||", "|", "|&", "\n"))


def parse(text: str, *, bash: bool = True) -> Script:
    """The simple commands of ``text`` (``bash=False``: read as ``dash`` would).

    Raises:
        TooDeep: substitutions nest deeper than ``lex.MAX_DEPTH``.
    """
    lexer = Lexer(text, bash=bash, parser=_sub_parse)
    parser = _Parser(lexer, top=True)
    commands = parser.run(until_paren=False)
    return Script(
        commands=tuple(c for c in commands if c.raw),
        nested=tuple(c for c in lexer.nested if c.raw),
        whole=_whole(parser.seen),
        substituted=bool(lexer.nested) or any(isinstance(t, Word) and t.subst for t in parser.seen),
    )


def _sub_parse(lexer: Lexer, until_paren: bool) -> list[Simple]:
    return _Parser(lexer, top=False).run(until_paren=until_paren)


def _whole(tokens: list[Word | Op]) -> str:
    """The line as written: blanks collapsed, separators spaced, newlines as ``;``."""
    out: list[str] = []
    after_separator = True
    for tok in tokens:
        if isinstance(tok, Op) and tok.text in _SEPARATORS:
            op = ";" if tok.text == "\n" else tok.text
            out.append(f"{op} " if after_separator else f" {op} ")
            after_separator = True
        else:
            out.append((" " if tok.spaced and not after_separator else "") + tok.raw)
            after_separator = False
    return "".join(out).strip(" ;&|\n")


class _Parser:
    def __init__(self, lexer: Lexer, *, top: bool) -> None:
        self.lx = lexer
        self.commands: list[Simple] = []
        self.ctx: list[str] = []  # open "(" and "case"
        self.cur: Simple | None = None
        self.seen: list[Word | Op] = []
        self.top = top
        self.until_paren = False
        self.done = False
        self.function = False  # after `function NAME`: a `()` may follow

    def take(self) -> Word | Op | None:
        tok = self.lx.next()
        if self.top and tok is not None:
            self.seen.append(tok)
        return tok

    def run(self, *, until_paren: bool) -> list[Simple]:
        self.until_paren = until_paren
        while not self.done and (tok := self.take()) is not None:
            self.step(tok)
        self.finish("")
        return self.commands

    def step(self, tok: Word | Op) -> None:
        function, self.function = self.function, False
        if isinstance(tok, Word):
            if self.cur is None and self._reserved(tok):
                return
            self._command().add_word(tok)
        elif tok.redirect:
            self._redirect(tok)
        elif tok.text == "(":
            self._open(tok, function)
        else:
            self._control(tok.text)

    def finish(self, op: str) -> None:
        if self.cur is not None:
            self.cur.op = op
            self.commands.append(self.cur)
            self.cur = None

    def _command(self) -> Simple:
        if self.cur is None:
            self.cur = Simple()
        return self.cur

    def _reserved(self, tok: Word) -> bool:
        """Handle a reserved word in command position; ``False`` if ``tok`` is none."""
        word = tok.raw
        if word == "esac" and self.ctx and self.ctx[-1] == "case":
            self.ctx.pop()
        if word in _SKIPPED:
            return True
        if word == "time":
            self._command().add_word(tok, keyword=True)
        elif word == "case":
            self._case()
        elif word in ("for", "select"):
            self._for(tok)
        elif word == "function":
            self.take()
            self.function = True
        else:
            return False
        return True

    def _redirect(self, tok: Op) -> None:
        self.lx.literal_dollar = tok.text in ("<<", "<<-") and not self.lx.bash
        try:
            target = self.take()
        finally:
            self.lx.literal_dollar = False
        word = target if isinstance(target, Word) else None
        doc = None
        if word is not None and tok.text in ("<<", "<<-"):
            expand = not any(q in word.raw for q in "'\"\\")
            delimiter = dequote_literal(word.raw, bash=self.lx.bash)
            doc = HereDoc(delimiter, tok.text == "<<-", expand)
            self.lx.heredocs.append(doc)
        self._command().add_redirect(tok, Redirect(tok.text, word, doc))
        if target is not None and word is None:
            self.step(target)

    def _open(self, tok: Op, function: bool) -> None:
        """``(``: a subshell, a function definition's ``()`` or an array assignment."""
        cur = self.cur
        if cur is not None and cur.assign[-1:] == [True] and not tok.spaced:
            self._array(cur)
            return
        if function or (cur is not None and len(cur.words) == 1 and not cur.redirects):
            nxt = self.take()
            if isinstance(nxt, Op) and nxt.text == ")":
                self.cur = None  # `name ()`: a definition, the body follows
                return
            self.finish("(")
            self.ctx.append("(")
            if nxt is not None:
                self.step(nxt)
            return
        self.finish("(")
        self.ctx.append("(")

    def _control(self, op: str) -> None:
        self.finish(op)
        if op == ")":
            if "(" in self.ctx:
                while self.ctx.pop() != "(":
                    pass
            elif self.until_paren:
                self.done = True
        elif op in (";;", ";&", ";;&") and "case" in self.ctx:
            while self.ctx[-1] != "case":
                self.ctx.pop()
            self._patterns()

    def _array(self, cur: Simple) -> None:
        """``NAME=(…)``: the items are data (their substitutions were already parsed)."""
        items: list[Word | Op] = []
        while (tok := self.take()) is not None and not (isinstance(tok, Op) and tok.text == ")"):
            items.append(tok)
        last = cur.words[-1]
        raw = f"{last.raw}({' '.join(t.raw for t in items)})"
        subst = last.subst or any(isinstance(t, Word) and t.subst for t in items)
        cur.words[-1] = Word(raw, UNKNOWN, last.spaced, subst)
        spaced, _, kind = cur.pieces[-1]
        cur.pieces[-1] = (spaced, raw, kind)

    def _case(self) -> None:
        """``case WORD in``, then its first patterns."""
        while (tok := self.take()) is not None:
            if isinstance(tok, Word) and tok.raw == "in":
                break
            if isinstance(tok, Op) and tok.text != "\n":
                self.step(tok)
                return
        self.ctx.append("case")
        self._patterns()

    def _patterns(self) -> None:
        """Skip ``case`` patterns up to their ``)`` (or to ``esac``)."""
        while (tok := self.take()) is not None:
            if isinstance(tok, Word):
                if tok.raw == "esac":
                    self.ctx.pop()
                    return
            elif tok.text == ")":
                return
            elif tok.text not in ("(", "|", "\n"):
                self.step(tok)
                return

    def _for(self, keyword: Word) -> None:
        """``for NAME in WORDS`` (or ``for ((…))``) up to ``;``, a newline or ``do``."""
        header = self._command()
        header.add_word(keyword)
        while (tok := self.take()) is not None:
            if isinstance(tok, Word) and not (tok.raw == "do" and len(header.words) > 1):
                header.add_word(tok)
                continue
            self.finish(";")
            if isinstance(tok, Op):
                self.step(tok)
            return
