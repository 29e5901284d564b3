"""Text scanning shared by the DSL parsers: top-level commas, matching parentheses and
``/regex/`` bodies.

The scanner walks the text once, skipping quoted strings (``'…'``, ``"…"``, backquotes;
a backslash escapes inside double quotes and backquotes) and regex bodies. A quote
opens a string only where a word starts (not after a letter or digit), so the apostrophe
of ``isn't`` is just a character. A regex body
starts at a ``/`` that follows ``~=`` (spaces allowed between) and ends at the next
unescaped ``/`` that is followed, after optional spaces, by ``,``, ``)`` or the end of the
text — so ``/a/b/`` is one body. :func:`escape_slashes` makes every inner ``/`` escaped,
which is how the formatters write regexes.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

from gnomon.runtime.errors import InvalidInput

__all__ = [
    "checked_regex",
    "closing_paren",
    "escape_slashes",
    "invalid",
    "rfind_all",
    "show",
    "split_regex",
    "split_top",
    "unescape_slashes",
]

_QUOTES = "'\"`"


def show(text: str, limit: int = 60) -> str:
    """``repr(text)``, shortened to about ``limit`` characters for error messages."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def invalid(
    message: str, token: str, accepted: tuple[str, ...], hint: str | None = None
) -> InvalidInput:
    """The DSLs' error: the message, the offending token and the accepted forms."""
    return InvalidInput(message, token=token, accepted=accepted, hint=hint)


def _regex_end(text: str, start: int) -> int:
    """Index of the ``/`` closing the regex body opened at ``start`` (or the last index)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "/":
            rest = text[i + 1 :].lstrip()
            if not rest or rest[0] in ",)":
                return i
        i += 1
    return len(text) - 1


def _quote_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "'":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return len(text) - 1


def _after_match_operator(text: str, i: int) -> bool:
    """True when ``text[i]`` is a ``/`` that follows ``~=`` and optional spaces."""
    j = i - 1
    while j >= 0 and text[j] in " \t":
        j -= 1
    return j >= 1 and text[j - 1 : j + 1] == "~="


def structural(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(index, char)`` for every character outside quotes and regex bodies."""
    i = 0
    while i < len(text):
        char = text[i]
        if char in _QUOTES and (i == 0 or not text[i - 1].isalnum()):
            i = _quote_end(text, i) + 1
            continue
        if char == "/" and _after_match_operator(text, i):
            i = _regex_end(text, i) + 1
            continue
        yield i, char
        i += 1


def closing_paren(text: str, start: int) -> int | None:
    """Index of the parenthesis closing the one at ``start``; ``None`` when unclosed."""
    depth = 0
    for i, char in structural(text):
        if i < start:
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def split_top(text: str) -> list[str]:
    """Split on commas outside parentheses, quotes and regex bodies.

    Raises:
        InvalidInput: a ``)`` without its ``(``, or a ``(`` never closed.
    """
    depth, last, parts = 0, 0, []
    for i, char in structural(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise InvalidInput(
                    f"unbalanced ')' in {text!r}", token=text, accepted=("balanced parentheses",)
                )
        elif char == "," and depth == 0:
            parts.append(text[last:i])
            last = i + 1
    if depth:
        raise InvalidInput(
            f"unclosed '(' in {text!r}", token=text, accepted=("balanced parentheses",)
        )
    parts.append(text[last:])
    return parts


def rfind_all(text: str, needle: str) -> Iterator[int]:
    """Every index of ``needle`` in ``text``, last first."""
    pos = text.rfind(needle)
    while pos >= 0:
        yield pos
        pos = text.rfind(needle, 0, pos)


def escape_slashes(pattern: str) -> str:
    """Escape every unescaped ``/`` of a regex (``a/b`` → ``a\\/b``); escapes kept."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append("\\/" if pattern[i] == "/" else pattern[i])
        i += 1
    return "".join(out)


def unescape_slashes(pattern: str) -> str:
    """The inverse of :func:`escape_slashes`: ``\\/`` → ``/``, other escapes kept."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            out.append("/" if pair == "\\/" else pair)
            i += 2
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)


def split_regex(body: str) -> tuple[str, str] | None:
    """``LEFT ~= /RE/`` split at the last ``~=`` followed by a whole ``/…/``."""
    for pos in rfind_all(body, "~="):
        right = body[pos + 2 :].strip()
        if len(right) >= 2 and right[0] == "/" and right[-1] == "/":
            return body[:pos].strip(), unescape_slashes(right[1:-1])
    return None


def checked_regex(pattern: str) -> str:
    """``pattern`` when Python's ``re`` compiles it.

    Raises:
        InvalidInput: it does not (the message quotes ``re``'s reason).
    """
    try:
        with warnings.catch_warnings():  # "possible nested set" and friends: still valid
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise invalid(
            f"bad regex {show(pattern)}: {exc}", pattern, ("a Python regex between slashes",)
        ) from None
    return pattern
