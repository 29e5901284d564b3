"""``gnomon shell``: an interactive REPL (docs/shell.md).

Every command runs as a slash command (``/schedule …``, ``/jobs list``, ``/policy check …``)
through the same click commands, in-process: a command's exit never ends the shell, and
errors print as the CLI prints them. Completion covers commands, subcommands, flags, DSL
snippets and live job names (:mod:`gnomon.cli.shell_complete`); the prompt carries a badge
of live counts and event notices print above it (:mod:`gnomon.cli.shell_live`).

prompt_toolkit owns the main thread (its asyncio loop runs only while a prompt is shown);
commands run on the main thread between prompts, so their own ``trio.run`` and Ctrl-C work
as in the plain CLI; the event subscription runs on trio in a background thread. With
standard input not a terminal the shell reads commands line by line, without the badge.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence

import attrs
import click
from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.styles import Style

from gnomon.cli.output import home_of, home_option, reports_errors
from gnomon.cli.shell_complete import BUILTINS, HIDDEN, SlashCompleter
from gnomon.cli.shell_live import LiveState, LiveThread, badge_text
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.home import Home

STYLE = Style.from_dict(
    {"badge": "bold", "offline": "ansired", "prompt": "ansicyan bold", "meta": "ansibrightblack"}
)
EXIT_WORDS = frozenset({"exit", "quit"})
KEYS = """keys:
  Tab          complete commands, subcommands, flags, DSL snippets and job names
  ↑ / ↓        history (kept in the home's shell_history); → accepts a suggestion
  Ctrl-C       clears the line, or interrupts a running command (jobs keep running)
  Ctrl-D       leaves the shell (as /exit)"""


@attrs.frozen
class Line:
    """What one typed line asks for: ``kind`` is one of empty, plain, bad, exit, help, run."""

    kind: str
    args: tuple[str, ...] = ()
    message: str = ""


def parse_line(text: str) -> Line:
    """Classify a typed line; ``args`` are the command's words without the slash."""
    text = text.strip()
    if not text:
        return Line("empty")
    if not text.startswith("/"):
        return Line("plain", tuple(text.split()))
    try:
        words = shlex.split(text[1:])
    except ValueError as exc:
        return Line("bad", message=f"cannot parse the line: {exc}")
    if not words or words[0] in EXIT_WORDS:
        return Line("exit" if words else "help")
    if words[0] == "help":
        return Line("help", tuple(words[1:]))
    return Line("run", tuple(words))


def run_command(root: click.Group, args: Sequence[str]) -> int:
    """Run ``gnomon ARGS`` in-process; its exit code (errors printed as the CLI prints them)."""
    if args and args[0] in HIDDEN:
        return _fail(f"/{args[0]} is not available inside the shell", 2)
    try:
        result = root.main(list(args), prog_name="gnomon", standalone_mode=False)
    except click.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx is not None else "gnomon"
        sub = path.removeprefix("gnomon").strip()
        hint = f"/{sub} --help lists the options" if sub else "/help lists the commands"
        return _fail(exc.format_message(), 2, hint)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        return _fail("aborted", 1)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except GnomonError as exc:
        return _fail(exc.message, exc.exit_code, exc.hint or "")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BaseExceptionGroup as group:  # e.g. Ctrl-C inside a command's trio nursery
        if group.subgroup(KeyboardInterrupt) is not None:
            click.echo("interrupted", err=True)
            return 130
        return _fail(f"{type(group).__name__}: {group}", 1)
    except Exception as exc:  # a bug in one command must not end the shell
        return _fail(f"{type(exc).__name__}: {exc}", 1)
    return result if isinstance(result, int) else 0


def _fail(message: str, code: int, hint: str = "") -> int:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    return code


def help_text(root: click.Group) -> str:
    """Every slash command with its one-line help, then the keys."""
    rows = {n: c.get_short_help_str(70) for n, c in root.commands.items() if n not in HIDDEN}
    rows.update(BUILTINS)
    width = max(len(n) for n in rows) + 2
    lines = [f"  /{name:<{width}}{text}" for name, text in sorted(rows.items())]
    return "\n".join(
        [
            "commands (each takes the CLI's flags; /COMMAND --help for details):",
            *lines,
            "",
            KEYS,
            "",
            "e.g. /schedule backup --every 1d --do 'shell: ./backup.sh'   /jobs show backup",
        ]
    )


class Repl:
    """One shell session: reads lines, runs them, until /exit or Ctrl-D."""

    def __init__(self, root: click.Group, home: Home, url: str | None) -> None:
        self.root = root
        self.home = home
        self.url = url
        self.state = LiveState()
        self.last_code = 0

    def execute(self, text: str) -> bool:
        """Act on one line; False when the shell should end."""
        line = parse_line(text)
        if line.kind == "exit":
            return False
        if line.kind == "help" and line.args:
            run_command(self.root, [*line.args, "--help"])
        elif line.kind == "help":
            click.echo(help_text(self.root))
        elif line.kind == "plain":
            self.last_code = self._plain(line.args)
        elif line.kind == "bad":
            self.last_code = _fail(line.message, 2)
        elif line.kind == "run":
            self.last_code = run_command(self.root, line.args)
        return True

    def _plain(self, words: Sequence[str]) -> int:
        if words[0] in self.root.commands and words[0] not in HIDDEN:
            return _fail("commands start with a slash", 2, f"did you mean /{' '.join(words)} ?")
        return _fail("commands start with a slash, e.g. /jobs list", 2, "/help lists the commands")

    def run(self) -> int:
        """The read-run loop; its exit code."""
        if not sys.stdin.isatty():
            return self._run_script()
        session: PromptSession[str] = PromptSession(
            history=self._history(),
            completer=SlashCompleter(self.root, self.state.names),
            complete_while_typing=False,
            auto_suggest=AutoSuggestFromHistory(),
            style=STYLE,
        )
        with patch_stdout(raw=True):
            live = LiveThread(self.home, self.url, self.state, session.app.invalidate, _notice)
            live.start()
            click.echo("gnomon shell — /help lists the commands, Tab completes, Ctrl-D leaves")
            try:
                self._loop(session)
            finally:
                live.stop()
        return 0

    def _loop(self, session: PromptSession[str]) -> None:
        while True:
            try:
                text = session.prompt(self._message)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
            if not self.execute(text):
                return

    def _message(self) -> FormattedText:
        counts = self.state.counts()
        style = "class:offline" if counts is None else "class:badge"
        return FormattedText([(style, badge_text(counts)), ("", " "), ("class:prompt", "gnomon› ")])

    def _history(self) -> History:
        if self.home.root.is_dir():
            return FileHistory(str(self.home.root / "shell_history"))
        return InMemoryHistory()

    def _run_script(self) -> int:
        """Commands from a pipe, one a line; the last command's exit code."""
        for text in sys.stdin:
            if not self.execute(text):
                break
        return self.last_code


def _notice(text: str) -> None:
    """Print a notice above the prompt (stdout is patched while the shell runs)."""
    print(text, flush=True)


@click.command("shell")
@home_option
@click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")
@click.pass_context
@reports_errors
def shell(ctx: click.Context, home: str | None, url: str | None) -> None:
    """Interactive REPL: every command as /command, completion, live counts and notices."""
    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    if home:  # slash commands use the shell's home and daemon unless told otherwise
        os.environ["GNOMON_HOME"] = str(home_of(home).root)
    if url:
        os.environ["GNOMON_URL"] = url
    sys.exit(Repl(root, home_of(home), url).run())
