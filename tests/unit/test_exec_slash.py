"""The slash command layer's parsing: a slash command becomes the gnomon CLI's argv."""

from __future__ import annotations

import sys

import pytest

from gnomon.actors.actions.slash_cmd import slash_argv


def test_slash_command_becomes_the_cli_argv() -> None:
    """Quotes are honoured and the CLI is this interpreter's gnomon."""
    assert slash_argv("/jobs cancel --tag env=staging --reason 'nightly sweep'") == [
        sys.executable, "-m", "gnomon.cli", "jobs", "cancel", "--tag", "env=staging",
        "--reason", "nightly sweep",
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["jobs list", "/", "/  ", "/jobs show 'unclosed"])
def test_bad_slash_commands_are_refused(bad: str) -> None:
    """No leading slash, nothing after it, or unbalanced quotes: ValueError."""
    with pytest.raises(ValueError):
        slash_argv(bad)
