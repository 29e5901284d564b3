"""A real gnomon daemon in a child process, and the real CLI against it.

``RealDaemon.start(home)`` runs ``python -m gnomon.cli daemon start --port 0`` in the
foreground as a subprocess (its own session, so a test can SIGKILL it), waits until
``daemon.json`` names it, and gives the URL and token. ``gnomon(...)`` runs the CLI as a
subprocess with the test's home and ``GNOMON_AUTOSTART=0`` so a missing daemon is an error,
never a surprise daemon. Nothing here mocks gnomon.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

PY = sys.executable


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI child: this home, no autostart, no inherited URL/token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    env.update(GNOMON_HOME=str(home), GNOMON_AUTOSTART="0", NO_COLOR="1", COLUMNS="200")
    env.update(extra)
    return env


def until(check: Callable[[], Any], what: str, limit: float = 60.0, step: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; that value (a liveness bound for
    real-process tests, never a timing assertion).

    Raises:
        AssertionError: naming ``what`` when ``limit`` seconds pass first.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"never happened: {what}")


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def gnomon(
    home: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> Result:
    """Run ``gnomon ARGS`` with ``home``; its exit code, stdout and stderr."""
    proc = subprocess.run(
        [PY, "-m", "gnomon.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(home),
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@attrs.define
class RealDaemon:
    """A foreground daemon process; stop() with SIGTERM, kill() with SIGKILL."""

    home: Path
    proc: subprocess.Popen[bytes]
    info: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def http(self) -> str:
        return str(self.info["http"])

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    @property
    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    @classmethod
    def start(
        cls, home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> RealDaemon:
        """Start and wait until it answers (daemon.json names its pid).

        Raises:
            RuntimeError: it exited or did not come up in time (its output attached).
        """
        home.mkdir(parents=True, exist_ok=True)
        log = open(home / "test-daemon.out", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [PY, "-m", "gnomon.cli", "daemon", "start", "--port", "0", *args],
            env=env or cli_env(home),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = _read_json(home / "daemon.json")
            if info is not None and info.get("pid") == proc.pid:
                return cls(home, proc, info)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        output = (home / "test-daemon.out").read_text(errors="replace")
        raise RuntimeError(f"daemon did not start (exit {proc.returncode}):\n{output}")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the daemon's whole session (it and any action children)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
