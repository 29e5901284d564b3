"""Entry point of the ``gnomon`` command.

Commands are imported when they run, not at start-up: :class:`LazyGroup` knows each
command's module and loads only the one invoked (``gnomon --version`` loads none), so a
call pays for the libraries its command uses and no others (``docs/performance.md``).
Anything that lists the commands (help, completion, the shell, the docs test) loads them
all through :attr:`LazyGroup.commands`.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

#: Top-level command → ``module:attribute`` of its click command.
COMMANDS = {
    "schedule": "gnomon.cli.schedule_cmd:schedule",
    "apply": "gnomon.cli.apply_cmd:apply",
    "wait": "gnomon.cli.wait_cmd:wait",
    "daemon": "gnomon.cli.daemon_cmd:daemon",
    "dashboard": "gnomon.cli.dashboard_cmd:dashboard",
    "config": "gnomon.cli.config_cmd:config",
    "completion": "gnomon.cli.completion_cmd:completion",
    "jobs": "gnomon.cli.jobs_cmd:jobs",
    "calendar": "gnomon.cli.calendar_cmd:calendar",
    "events": "gnomon.cli.events_cmd:events",
    "audit": "gnomon.cli.events_cmd:audit",
    "breakers": "gnomon.cli.admin_cmd:breakers",
    "policy": "gnomon.cli.admin_cmd:policy",
    "inbox": "gnomon.cli.admin_cmd:inbox",
    "token": "gnomon.cli.token_cmd:token",
    "agents": "gnomon.cli.token_cmd:agents",
    "nodes": "gnomon.cli.nodes_cmd:nodes",
    "mcp": "gnomon.cli.mcp_cmd:mcp",
    "shell": "gnomon.cli.shell:shell",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see the module docstring)."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy)

    def _load(self, name: str) -> None:
        module, attr = self._lazy.pop(name).split(":")
        command = getattr(importlib.import_module(module), attr)
        self._loaded[name] = command

    @property
    def _loaded(self) -> dict[str, click.Command]:
        return self.__dict__.setdefault("_commands", {})  # type: ignore[no-any-return]

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        """Every subcommand, loaded (for listings: help, completion, the shell)."""
        for name in list(getattr(self, "_lazy", {})):
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self.__dict__["_commands"] = dict(value)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand's name, sorted (no import needed)."""
        return sorted({*self._loaded, *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand ``cmd_name``, importing only its module."""
        if cmd_name in self._lazy:
            self._load(cmd_name)
        return self._loaded.get(cmd_name)


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    click.echo(f"gnomon, version {version('gnomon')}")
    ctx.exit()


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """gnomon — a durable job scheduler for people and AI agents."""


def main() -> None:
    """Run the CLI; exit codes per ``docs/commands.md``.

    Usage errors (unknown flag, missing argument, bad choice) print the one-line
    ``error:`` plus a ``hint:`` pointing at the command's help, and exit 2 — as one JSON
    object on stderr when the command line asks for JSON.
    """
    try:
        cli.main(prog_name="gnomon", standalone_mode=False)
    except click.UsageError as exc:
        from gnomon.cli.output import fail, wants_json

        command = exc.ctx.command_path if exc.ctx is not None else "gnomon"
        hint = f"{command} --help lists the options"
        fail(exc.format_message(), 2, hint=hint, as_json=wants_json(sys.argv[1:]))
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
