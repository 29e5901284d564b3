"""A CLI call imports only what its command uses (start-up time, docs/performance.md):
`--version` loads no command; `jobs`, `token list`, `breakers`, `inbox` and `events` load
no rich, prompt_toolkit, httpx, mcp, croniter or wire converter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"rich", "prompt_toolkit", "httpx", "mcp", "croniter", "cattrs", "prometheus_client"}


def imported(args: list[str], home: Path) -> set[str]:
    """Top-level packages imported by `gnomon ARGS` (no daemon: it exits 5 after loading)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    env.update(GNOMON_HOME=str(home), GNOMON_AUTOSTART="0")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gnomon.cli", *args],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    names = [ln.rsplit("|", 1)[1].strip() for ln in done.stderr.splitlines() if "|" in ln]
    return {n.split(".")[0] for n in names} | {n for n in names if n.startswith("gnomon.")}


def test_version_loads_no_command(tmp_path: Path) -> None:
    """--version imports click and the entry point, no command module, no trio."""
    found = imported(["--version"], tmp_path)
    assert not {n for n in found if n.startswith("gnomon.cli.") and n != "gnomon.cli.main"}
    assert not found & (HEAVY | {"trio", "trio_websocket"})


@pytest.mark.parametrize(
    "args", [["jobs"], ["jobs", "history"], ["token", "list"], ["breakers"], ["inbox"], ["events"]]
)
def test_table_commands_skip_the_heavy_libraries(args: list[str], tmp_path: Path) -> None:
    """The everyday read commands import none of the heavy libraries."""
    found = imported(args, tmp_path)
    assert "trio_websocket" in found  # it did get as far as connecting
    assert not found & HEAVY, found & HEAVY
