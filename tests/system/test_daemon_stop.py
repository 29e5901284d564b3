"""A planned stop with an action running: `gnomon daemon stop` says what it waits for,
the run ends `interrupted` with its output, and the next start runs the same attempt
again — a real daemon, a real shell action, the real CLI."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from support.daemon_proc import RealDaemon, cli_env, gnomon, until

pytestmark = pytest.mark.slow


def _sleeper(tmp_path: Path) -> str:
    """A command that prints, marks that it runs, then sleeps — unless ``again`` exists."""
    started, again = tmp_path / "started", tmp_path / "again"
    return (
        f"shell: if [ -e {again} ]; then echo second; exit 0; fi; "
        f"echo started; touch {started}; sleep 60"
    )


def _show(home: Path, env: dict[str, str], ref: str) -> dict[str, Any]:
    result = gnomon(home, "jobs", "show", ref, "--json", env=env)
    assert result.code == 0, result.err
    value: dict[str, Any] = result.json()
    return value


def _start_sleeper(home: Path, env: dict[str, str], tmp_path: Path) -> RealDaemon:
    daemon = RealDaemon.start(home, env=env)
    created = gnomon(
        home, "schedule", "sleepy", "--when", "now", "--do", _sleeper(tmp_path),
        "--max-retries", "0", "--i-know", env=env,
    )  # fmt: skip
    assert created.code == 0, created.err
    until(lambda: (tmp_path / "started").exists(), "the action started")
    return daemon


def test_stop_names_the_job_keeps_the_output_and_reruns_the_attempt(tmp_path: Path) -> None:
    """stop prints the job it waits for and its interruption; the run is `interrupted`
    with its output; after the next start attempt 1 runs again and completes, nothing
    counted as failed (no orphan, no retry, attempts still 1)."""
    home = tmp_path / "home"
    env = cli_env(home, GNOMON_DAEMON_DRAIN_TIMEOUT="3s")
    first = _start_sleeper(home, env, tmp_path)
    try:
        stopped = gnomon(home, "daemon", "stop", env=env)
        assert stopped.code == 0, stopped.err
        assert "waiting for sleepy (running " in stopped.out
        assert "of the 3s drain limit; `gnomon daemon stop --now` interrupts it" in stopped.out
        assert "interrupted sleepy (run " in stopped.out
        assert "it runs again at the next start" in stopped.out
        assert first.proc.wait(30) == 0
    finally:
        first.kill()
    (tmp_path / "again").touch()
    second = RealDaemon.start(home, env=env)
    try:
        job = until(
            lambda: (j := _show(home, env, "sleepy"))["status"] == "completed" and j,
            "the interrupted job ran again and completed",
        )
        runs = {r["run_id"].rsplit(".", 1)[1]: r for r in job["runs"]}
        assert runs["1"]["outcome"] == "interrupted"
        assert runs["1"]["output"] == "started\n"
        assert "the daemon was stopped (drain limit 3s)" in runs["1"]["error"]
        assert (runs["2"]["outcome"], runs["2"]["attempt"]) == ("success", 1)
        assert (job["attempts"], job["last_outcome"]) == (1, "success")
        events = gnomon(home, "events", "--job", "sleepy", "--json", env=env).out
        assert '"run.interrupted"' in events
        for never in ('"run.orphaned"', '"job.retry_queued"', '"job.failed"'):
            assert never not in events
    finally:
        assert second.stop() == 0


def test_stop_now_interrupts_at_once(tmp_path: Path) -> None:
    """--now does not wait out a long drain limit: the run is interrupted and says so."""
    home = tmp_path / "home"
    env = cli_env(home, GNOMON_DAEMON_DRAIN_TIMEOUT="10m")
    first = _start_sleeper(home, env, tmp_path)
    try:
        stopped = gnomon(home, "daemon", "stop", "--now", env=env, timeout=120)
        assert stopped.code == 0, stopped.err
        assert "interrupted sleepy (run " in stopped.out
        assert first.proc.wait(30) == 0
    finally:
        first.kill()
    second = RealDaemon.start(home, env=env)
    try:
        run = _show(home, env, "sleepy")["runs"][-1]
        assert run["run_id"].endswith(".1.1")
        assert (run["outcome"], run["output"]) == ("interrupted", "started\n")
        assert "`gnomon daemon stop --now`" in run["error"]
    finally:
        second.kill()


def test_status_while_draining_says_stopping_and_what_it_waits_for(tmp_path: Path) -> None:
    """While the daemon drains (its gateway closed) `daemon status` exits 0 saying it is
    stopping and which run it waits for — not "cannot reach the daemon"."""
    home = tmp_path / "home"
    env = cli_env(home, GNOMON_DAEMON_DRAIN_TIMEOUT="10m")
    first = _start_sleeper(home, env, tmp_path)
    try:
        first.proc.send_signal(signal.SIGTERM)
        status = until(
            lambda: (
                (s := gnomon(home, "daemon", "status", env=env)).code == 0
                and "waiting for sleepy (running " in s.out
                and s
            ),
            "status reports the drain",
        )
        assert status.out.startswith(f"gnomon daemon: stopping (pid={first.proc.pid})\n")
        assert "of the 600s drain limit" in status.out
        as_json = gnomon(home, "daemon", "status", "--json", env=env)
        assert (as_json.code, as_json.json()["stopping"]) == (0, True)
        assert gnomon(home, "daemon", "stop", "--now", env=env, timeout=120).code == 0
        assert first.proc.wait(30) == 0
    finally:
        first.kill()
