"""The shell offers only what works: every DSL snippet its completion offers, after every
option of every command of the real CLI tree, parses with the real parser (a snippet that
needs more typing parses once completed with its example)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import click
import pytest

from gnomon.cli.event_window import parse_bound
from gnomon.cli.main import cli
from gnomon.cli.shell_complete import candidates, split_words
from gnomon.cli.shell_snippets import BY_METAVAR, BY_OPTION, Snippet
from gnomon.runtime.model.action_dsl import parse_action
from gnomon.runtime.model.condition_dsl import parse_condition
from gnomon.runtime.model.durations import parse_duration
from gnomon.runtime.model.times import parse_time
from gnomon.runtime.model.when import parse_when

NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)
PARSERS: dict[str, Callable[[str], Any]] = {
    "when": lambda v: parse_when(v, now=NOW, tz="Europe/Berlin"),
    "cron": lambda v: parse_when(f"cron:{v}", now=NOW, tz="Europe/Berlin"),
    "calendar": lambda v: parse_when(f"calendar:{v}", now=NOW, tz="Europe/Berlin"),
    "duration": parse_duration,
    "time": lambda v: parse_time(v, now=NOW, tz="Europe/Berlin"),
    "bound": lambda v: parse_bound(v, now=NOW, tz="Europe/Berlin", flag="--since"),
    "action": parse_action,
    "condition": parse_condition,
}
KIND = {id(s): s.kind for s in (*BY_METAVAR.values(), *BY_OPTION.values())}


def walk(cmd: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, click.Command]]:
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            if name != "shell":
                yield from walk(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def offered() -> Iterator[tuple[str, str, str, Snippet]]:
    """(command, option, kind, snippet) for each snippet candidate the shell offers."""
    for path, cmd in walk(cli, ()):
        for param in cmd.params:
            if not isinstance(param, click.Option) or param.is_flag:
                continue
            flag = max(param.opts, key=len)
            group = BY_METAVAR.get(param.metavar or "") or BY_OPTION.get(flag)
            if group is None:
                continue
            by_shown = {s.display or s.value: s for s in group.items}
            for found in candidates(cli, f"/{path} {flag} "):
                yield path, flag, group.kind, by_shown[found.display]


CASES = sorted({(p, f, k, s.value): s for p, f, k, s in offered()}.items())


def test_snippets_are_offered_for_every_dsl() -> None:
    """The enumeration reaches every DSL kind (so the test below checks something)."""
    assert {kind for (_, _, kind, _) in dict(CASES)} == set(PARSERS)


@pytest.mark.parametrize(
    ("where", "snippet"), CASES, ids=[f"{w[0]} {w[1]} {w[3]}" for w, _ in CASES]
)
def test_every_offered_snippet_parses(where: tuple[str, str, str, str], snippet: Snippet) -> None:
    """Each candidate parses as offered, or — if it needs more typing — its example,
    which begins with it, parses."""
    path, flag, kind, _ = where
    text = snippet.value
    if snippet.open or snippet.example is not None:
        assert snippet.example is not None, f"{path} {flag} {text!r} needs an example"
        assert snippet.example.startswith(text)
        text = snippet.example
    PARSERS[kind](text)


def test_candidates_insert_the_snippet_value() -> None:
    """The text a candidate inserts reads back (shell-split) as the snippet's value."""
    for found in candidates(cli, "/schedule x --when "):
        assert split_words(found.text + " ").done[0] in {s.value for s in BY_OPTION["--when"].items}
