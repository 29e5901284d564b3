"""Shell completion: the script prints for each shell, and completing through click's
protocol offers subcommands and flags of the real command tree."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    env["_GNOMON_COMPLETE"] = "bash_complete"
    out = subprocess.run(
        [sys.executable, "-m", "gnomon.cli"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_prints(shell: str) -> None:
    """`gnomon completion SHELL` prints a script wired to _GNOMON_COMPLETE."""
    out = subprocess.run(
        [sys.executable, "-m", "gnomon.cli", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "_GNOMON_COMPLETE" in out


def test_completion_offers_subcommands_and_flags() -> None:
    """`gnomon jobs ca<Tab>` → cancel; `gnomon schedule x --ov<Tab>` → --overlap."""
    assert complete("gnomon jobs ca", 2) == ["cancel"]
    assert complete("gnomon schedule x --ov", 3) == ["--overlap"]
