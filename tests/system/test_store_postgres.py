"""A real daemon on PostgreSQL (``--store postgresql://…``): a job runs through the CLI,
``daemon status`` names the store without its password, the audit chain verifies across
a restart, a second daemon on the same database is refused, and an unreachable server is
a one-line error with exit 5. Skipped with the reason where no PostgreSQL server answers
(``support/pgkit.py``)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, Result, gnomon, until
from support.pgkit import fresh_database

pytestmark = pytest.mark.slow


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def test_a_daemon_on_postgresql_runs_a_job(tmp_path: Path) -> None:
    with fresh_database() as url:
        secret = url.replace("postgres@", "postgres:hunter2@", 1)  # trust auth ignores it
        home = tmp_path / "home"
        daemon = RealDaemon.start(home, "--store", secret)
        try:
            ok(home, "schedule", "hello", "--do", "shell: echo hello from postgres")
            done = until(
                lambda: (
                    (j := ok(home, "jobs", "show", "hello", "--json").json())["status"]
                    == "completed"
                    and j
                ),
                "hello completes",
            )
            assert done["last_outcome"] == "success"
            status = ok(home, "daemon", "status").out
            assert f"store   {url}" in status
            assert "hunter2" not in status + (home / "daemon.json").read_text()
            second = gnomon(tmp_path / "other", "daemon", "start", "--port", "0",
                            "--store", url)  # fmt: skip
            assert second.code == 5
            assert f"database in use: {url}" in second.err
        finally:
            assert daemon.stop() == 0
        daemon = RealDaemon.start(home, "--store", url)  # the boot and chain continue
        try:
            assert "hash chain intact" in ok(home, "audit", "verify").out
            assert "hello from postgres" in ok(home, "jobs", "logs", "hello").out
        finally:
            assert daemon.stop() == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = f"postgresql://postgres@127.0.0.1:{port}/gnomon"
    refused = gnomon(tmp_path / "third", "daemon", "start", "--port", "0", "--store", gone)
    assert refused.code == 5
    assert refused.err.startswith(f"error: database unreachable: {gone}: ")
