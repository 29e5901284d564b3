"""Completion for ``gnomon shell``: slash commands, subcommands and flags read from the click
command tree, DSL snippets after the flags that take a DSL, choices, and live job names
after a ``REF``.

:func:`candidates` is pure (text before the cursor in, suggestions out) so it is tested
without a terminal; :class:`SlashCompleter` adapts it to prompt_toolkit.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs
import click
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from gnomon.cli.shell_snippets import BY_METAVAR, BY_OPTION, Snippet

#: Words the shell itself understands besides the click commands.
BUILTINS = {"help": "commands and keys", "exit": "leave the shell (also Ctrl-D)"}
#: Top-level commands the shell does not offer (it is one already).
HIDDEN = frozenset({"shell"})


#: A metavar listing the accepted values, e.g. ``skip|queue|allow``.
CHOICES = re.compile(r"[\w-]+(\|[\w-]+)+")
#: Parameters that name a job (``REF``): completed with live job names.
REF_NAMES = frozenset({"ref", "refs"})


@attrs.frozen
class Candidate:
    """One suggestion: ``text`` replaces the last ``replace`` characters before the cursor."""

    text: str
    replace: int
    display: str
    meta: str = ""


@attrs.frozen
class Words:
    """The line split like a shell would: finished words and the one being typed."""

    done: tuple[str, ...]
    raw: str  # the word being typed, as typed (quotes included)
    value: str  # the same, unquoted


def split_words(text: str) -> Words:
    """Split ``text`` (before the cursor) tolerating an unclosed quote in the last word."""
    done: list[str] = []
    raw, value, quote, started = "", "", "", False
    chars = iter(text)
    for ch in chars:
        if quote:
            raw += ch
            if ch == quote:
                quote = ""
            else:
                value += ch
        elif ch.isspace():
            if started:
                done.append(value)
            raw, value, started = "", "", False
        else:
            started = True
            raw += ch
            if ch in "'\"":
                quote = ch
            elif ch == "\\":
                nxt = next(chars, "")
                raw += nxt
                value += nxt
            else:
                value += ch
    return Words(tuple(done), raw, value)


def quoted(snippet: Snippet) -> str:
    """The text to insert: shell-quoted, or with its quote left open to type on."""
    if not snippet.open:
        return shlex.quote(snippet.value)
    needs = shlex.quote(snippet.value) != snippet.value
    return "'" + snippet.value if needs else snippet.value


def candidates(
    root: click.Group, text: str, job_names: Callable[[], Iterable[str]] = tuple
) -> list[Candidate]:
    """Suggestions for ``text`` (the line before the cursor) in the shell."""
    if not text.startswith("/"):
        return []
    words = split_words(text)
    if not words.done:
        return _commands(root, words.raw)
    name = words.done[0][1:]
    command = root.commands.get(name) if name not in HIDDEN else None
    if command is None:
        return []
    rest = list(words.done[1:])
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return _for_command(command, rest, words, job_names)


def _commands(root: click.Group, typed: str) -> list[Candidate]:
    names = {n: (c.get_short_help_str(60)) for n, c in root.commands.items() if n not in HIDDEN}
    names.update(BUILTINS)
    return [
        Candidate(f"/{name} ", len(typed), f"/{name}", meta)
        for name, meta in sorted(names.items())
        if f"/{name}".startswith(typed)
    ]


def _for_command(
    command: click.Command,
    rest: Sequence[str],
    words: Words,
    job_names: Callable[[], Iterable[str]],
) -> list[Candidate]:
    option = _pending_option(command, rest)
    if option is not None:
        return _values(option, words, job_names)
    if words.value.startswith("-"):
        return _options(command, rest, words)
    found: list[Candidate] = []
    if isinstance(command, click.Group) and not rest:
        found = _subcommands(command, words)
    else:
        found = _arguments(command, words, job_names)
    return found or (_options(command, rest, words) if not words.raw else [])


def _pending_option(command: click.Command, rest: Sequence[str]) -> click.Option | None:
    """The option whose value is being typed (the previous word takes one), if any."""
    if not rest:
        return None
    previous = rest[-1]
    for param in command.params:
        if isinstance(param, click.Option) and previous in param.opts + param.secondary_opts:
            takes_value = not (param.is_flag or param.count) and param.nargs == 1
            return param if takes_value else None
    return None


def _subcommands(group: click.Group, words: Words) -> list[Candidate]:
    return [
        Candidate(f"{name} ", len(words.raw), name, cmd.get_short_help_str(60))
        for name, cmd in sorted(group.commands.items())
        if name.startswith(words.value)
    ]


def _options(command: click.Command, rest: Sequence[str], words: Words) -> list[Candidate]:
    used = set(rest)
    found = []
    for param in command.get_params(click.Context(command)):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        flags = param.opts + param.secondary_opts
        if used.intersection(flags) and not param.multiple:
            continue
        for flag in flags:
            if flag.startswith("--") and flag.startswith(words.value or "--"):
                found.append(Candidate(f"{flag} ", len(words.raw), flag, param.help or ""))
    return sorted(found, key=lambda c: c.display)


def _values(
    option: click.Option, words: Words, job_names: Callable[[], Iterable[str]]
) -> list[Candidate]:
    if isinstance(option.type, click.Choice):
        return _plain([str(c) for c in option.type.choices], words, "choice")
    if option.metavar == "REF":
        return _plain(sorted(job_names()), words, "job")
    if option.metavar and CHOICES.fullmatch(option.metavar):
        return _plain(option.metavar.split("|"), words, "choice")
    snippets = BY_METAVAR.get(option.metavar or "") or BY_OPTION.get(max(option.opts, key=len))
    return _snippets(snippets.items if snippets else (), words)


def _arguments(
    command: click.Command, words: Words, job_names: Callable[[], Iterable[str]]
) -> list[Candidate]:
    found: list[Candidate] = []
    for param in command.params:
        if not isinstance(param, click.Argument):
            continue
        if param.name in REF_NAMES:
            found += _plain(sorted(job_names()), words, "job")
        elif isinstance(param.type, click.Choice):
            found += _plain([str(c) for c in param.type.choices], words, "choice")
    return found


def _plain(values: Iterable[str], words: Words, meta: str) -> list[Candidate]:
    return [
        Candidate(shlex.quote(v) + " ", len(words.raw), v, meta)
        for v in values
        if v.startswith(words.value)
    ]


def _snippets(snippets: Iterable[Snippet], words: Words) -> list[Candidate]:
    return [
        Candidate(quoted(s), len(words.raw), s.display or s.value, s.meta)
        for s in snippets
        if s.value.startswith(words.value)
    ]


class SlashCompleter(Completer):
    """prompt_toolkit's view of :func:`candidates`."""

    def __init__(self, root: click.Group, job_names: Callable[[], Iterable[str]]) -> None:
        self._root = root
        self._job_names = job_names

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        """Completions for the text before the cursor."""
        for c in candidates(self._root, document.text_before_cursor, self._job_names):
            yield Completion(c.text, -c.replace, display=c.display, display_meta=c.meta)
