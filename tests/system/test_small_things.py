"""Small things an operator hit, against a real daemon: `wait --then` shows the action's
output (and `gnomon nodes` says a lone daemon is no cluster); `daemon status` and
`/healthz` count finished jobs from before a restart (as the dashboard does); an open
breaker shows the failures that opened it; HTTP checks leave no httpx INFO lines in the
daemon log."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until
from support.local_http import LocalHTTPServer, Reply

pytestmark = pytest.mark.slow


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def healthz(daemon: RealDaemon) -> dict[str, Any]:
    with urllib.request.urlopen(f"{daemon.http}/healthz", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def test_wait_then_prints_the_actions_output(tmp_path: Path) -> None:
    """`wait --then 'shell: echo …'` prints the run's output like `jobs logs`, then the
    summary; --json carries the runs."""
    daemon = RealDaemon.start(tmp_path / "home")
    try:
        said = ok(daemon.home, "wait", "--until", f"file:{tmp_path}", "--then",
                  "shell: echo first line; echo second line", "--i-know")  # fmt: skip
        lines = said.out.splitlines()
        assert lines[0].startswith("── cycle 1 attempt 1 ")
        assert lines[1:3] == ["first line", "second line"]
        assert lines[-1].startswith("✔ wait-")
        done = ok(daemon.home, "wait", "--until", f"file:{tmp_path}", "--then",
                  "shell: echo in json", "--i-know", "--json").json()  # fmt: skip
        assert [r["output"] for r in done["runs"]] == ["in json\n"]
        # a daemon that runs alone is no cluster (docs/cluster.md)
        assert ok(daemon.home, "nodes").out.startswith("not clustered")
        assert ok(daemon.home, "nodes", "--json").json() == {
            "clustered": False, "partitions": 0, "nodes": []
        }  # fmt: skip
    finally:
        assert daemon.stop() == 0


def test_finished_jobs_are_counted_across_a_restart(tmp_path: Path) -> None:
    """A job that completed before a restart still counts in daemon status and /healthz,
    the same numbers as `jobs history` (the dashboard's view)."""
    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    ok(home, "schedule", "done-before", "--do", "noop")
    ok(home, "schedule", "still-live", "--every", "1h", "--do", "noop")
    until(lambda: ok(home, "jobs", "show", "done-before", "--json").json()["status"]
          == "completed", "done-before completes")  # fmt: skip
    assert daemon.stop() == 0
    daemon = RealDaemon.start(home)
    try:
        history = ok(home, "jobs", "history", "--json").json()
        expected: dict[str, int] = {}
        for job in history:
            expected[job["status"]] = expected.get(job["status"], 0) + 1
        assert expected == {"completed": 1, "pending": 1}
        assert ok(home, "daemon", "status", "--json").json()["stats"]["jobs"] == expected
        assert healthz(daemon)["jobs"] == expected
        assert "1 completed" in ok(home, "daemon", "status").out
    finally:
        assert daemon.stop() == 0


def test_an_open_breaker_shows_the_failures_that_opened_it(tmp_path: Path) -> None:
    """Five failing webhook calls open the breaker; `breakers` says 5, not 0; the HTTP
    calls and checks leave no httpx INFO line in daemon.log."""
    home = tmp_path / "home"  # a 100 ms poll below: limits.min_interval lowered
    daemon = RealDaemon.start(home, env=cli_env(home, GNOMON_LIMITS_MIN_INTERVAL="100ms"))
    try:
        with LocalHTTPServer(lambda rec: Reply(500, "down")) as srv:
            ok(daemon.home, "schedule", "hammer", "--every", "1s", "--max-retries", "0",
               "--do", f"GET {srv.url}/hook")  # fmt: skip
            key = f"127.0.0.1:{srv.port}"
            opened = until(
                lambda: next(
                    (b for b in ok(daemon.home, "breakers", "--json").json()
                     if b["key"] == key and b["status"] == "open"), None
                ),
                "the breaker opens",
            )  # fmt: skip
            assert opened["recent_failures"] == 5
            row = next(ln for ln in ok(daemon.home, "breakers").out.splitlines() if key in ln)
            assert row.split()[1:3] == ["open", "5"]
            ok(daemon.home, "jobs", "cancel", "hammer")
        with LocalHTTPServer(lambda rec: Reply(200, "up")) as up:  # an HTTP check, too
            ok(daemon.home, "wait", "--until", f"{up.url}/==200", "--every", "100ms")
        log = (daemon.home / "daemon.log").read_text()
        assert "HTTP Request" not in log
        assert "httpx" not in log
    finally:
        assert daemon.stop() == 0
