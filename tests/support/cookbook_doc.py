"""The commands of docs/cookbook.md, as the cookbook test runs them.

A fenced block whose info string is ``sh TAG`` (e.g. ```` ```sh recipe-5 ````) holds one
command per line (``\\`` continues a line; blank lines and ``#`` comments are skipped).
Every command is a ``gnomon`` command, optionally preceded by ``VAR=value`` environment
assignments. Untagged blocks are illustrations and are not run; ```` ```json TAG ```` blocks are
documents a test reads (an MCP configuration, a tool call).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from pathlib import Path

import attrs

COOKBOOK = Path(__file__).resolve().parents[2] / "docs" / "cookbook.md"
_FENCE = re.compile(r"^```(\S*)[ \t]*(\S*)[ \t]*$")
_ASSIGN = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@attrs.frozen
class Command:
    """One documented command: the line as written, its env assignments and argv."""

    line: str
    env: dict[str, str]
    argv: list[str]


def tagged_blocks(text: str, lang: str = "sh") -> dict[str, list[str]]:
    """``{tag: [line, …]}`` for every ```` ```LANG TAG ```` block of ``text`` (``sh``:
    command lines; other languages: the raw lines).

    Raises:
        ValueError: a tag is used twice, or a block is not closed.
    """
    found: dict[str, list[str]] = {}
    tag: str | None = None
    lines: list[str] = []
    inside = False
    for raw in text.splitlines():
        fence = _FENCE.match(raw)
        if fence and not inside:
            inside, lines = True, []
            tag = fence.group(2) if fence.group(1) == lang and fence.group(2) else None
        elif raw.startswith("```") and inside:
            inside = False
            if tag is not None:
                if tag in found:
                    raise ValueError(f"cookbook block {tag!r} appears twice")
                found[tag] = _commands(lines) if lang == "sh" else lines
        elif inside:
            lines.append(raw)
    if inside:
        raise ValueError("cookbook: a fenced block is not closed")
    return found


def _commands(lines: Iterable[str]) -> list[str]:
    out: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return out


def substitute(line: str, table: Iterable[tuple[str, str]]) -> str:
    """``line`` with each ``(doc text, local text)`` pair of ``table`` replaced, in order."""
    for old, new in table:
        line = line.replace(old, new)
    return line


def parse(line: str) -> Command:
    """Split a command line into its leading env assignments and a ``gnomon`` argv.

    Raises:
        ValueError: the command is not a gnomon command.
    """
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and _ASSIGN.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words or words[0] != "gnomon":
        raise ValueError(f"cookbook command is not a gnomon command: {line!r}")
    return Command(line=line, env=env, argv=words[1:])
