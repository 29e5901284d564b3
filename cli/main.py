"""Entry point of the ``gnomon`` command."""

from __future__ import annotations

import sys
from importlib.metadata import version

import click

from gnomon.cli.admin_cmd import breakers, inbox, policy
from gnomon.cli.completion_cmd import completion
from gnomon.cli.config_cmd import config
from gnomon.cli.daemon_cmd import daemon
from gnomon.cli.dashboard_cmd import dashboard
from gnomon.cli.events_cmd import audit, events
from gnomon.cli.jobs_cmd import jobs
from gnomon.cli.mcp_cmd import mcp
from gnomon.cli.schedule_cmd import schedule
from gnomon.cli.shell import shell
from gnomon.cli.token_cmd import agents, token
from gnomon.cli.wait_cmd import wait


def gnomon_version() -> str:
    """Return the installed distribution's version (``gnomon`` is a namespace package)."""
    return version("gnomon")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gnomon_version(), "--version", "-V", prog_name="gnomon")
def cli() -> None:
    """gnomon — a durable job scheduler for people and AI agents."""


cli.add_command(schedule)
cli.add_command(wait)
cli.add_command(daemon)
cli.add_command(dashboard)
cli.add_command(config)
cli.add_command(completion)
cli.add_command(jobs)
cli.add_command(events)
cli.add_command(audit)
cli.add_command(breakers)
cli.add_command(policy)
cli.add_command(inbox)
cli.add_command(token)
cli.add_command(agents)
cli.add_command(mcp)
cli.add_command(shell)


def main() -> None:
    """Run the CLI; exit codes follow CONTRACT §3.7.

    Usage errors (unknown flag, missing argument, bad choice) print the contract's one-line
    ``error:`` plus a ``hint:`` pointing at the command's help, and exit 2.
    """
    try:
        cli.main(prog_name="gnomon", standalone_mode=False)
    except click.UsageError as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        command = exc.ctx.command_path if exc.ctx is not None else "gnomon"
        click.echo(f"hint: {command} --help lists the options", err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
