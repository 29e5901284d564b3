"""The README's quickstart works as written, against a real daemon (its port swapped for
the test daemon's) — the README is the contract with a new user."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, cli_env, gnomon

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def quickstart_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_install_command_starts_the_daemon() -> None:
    """The install-and-run command ends with starting the daemon (the contract's one-liner)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Install and run", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert block.strip() == "pip install . && gnomon daemon start"


def test_readme_quickstart_runs_line_by_line(tmp_path: Path) -> None:
    """Every quickstart line exits 0 and says what the README promises."""
    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    try:
        outputs = []
        for line in quickstart_lines():
            argv = shlex.split(line.replace("127.0.0.1:8765", f"127.0.0.1:{daemon.port}"))
            assert argv[0] == "gnomon"
            result = gnomon(home, *argv[1:], env=cli_env(home, DISPLAY="", BROWSER="true"))
            assert result.code == 0, f"{line!r} → {result.code}: {result.err}"
            outputs.append(result.out)
        assert outputs[0].startswith("✔ job ")
        assert "(hello)" in outputs[0]
        assert "the gateway port is open" in outputs[1]  # the --then action's output
        assert outputs[1].splitlines()[-1].startswith("✔ ")
        assert "hello" in outputs[2]
        assert "every 10s" in outputs[3]
        assert "login" in outputs[4] or "http://" in outputs[4]
    finally:
        daemon.stop()
