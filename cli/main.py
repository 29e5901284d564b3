"""Entry point of the ``gnomon`` command."""

from __future__ import annotations

from importlib.metadata import version

import click


def gnomon_version() -> str:
    """Return the installed distribution's version (``gnomon`` is a namespace package)."""
    return version("gnomon")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gnomon_version(), "--version", "-V", prog_name="gnomon")
def cli() -> None:
    """gnomon — a durable job scheduler for people and AI agents."""


def main() -> None:
    """Run the CLI; exit codes follow CONTRACT §3.7."""
    cli(prog_name="gnomon")
