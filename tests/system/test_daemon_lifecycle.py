"""The daemon's life as a user sees it: start, refusals, stale files, stop and resume,
autostart — real processes, real ports, a temp home each."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.daemon_proc import RealDaemon, cli_env, gnomon, until
from support.local_http import LocalHTTPServer, OpenAIStub

pytestmark = pytest.mark.slow


def test_second_daemon_on_the_same_home_is_refused(tmp_path: Path) -> None:
    """A second daemon on a locked home exits 5 naming the first one's pid."""
    home = tmp_path / "home"
    first = RealDaemon.start(home)
    try:
        second = gnomon(home, "daemon", "start", "--port", "0")
        assert second.code == 5
        assert str(first.proc.pid) in second.err
        assert gnomon(home, "daemon", "ping").out.strip() == "pong"
    finally:
        first.stop()


def test_port_held_by_another_program_gives_the_contract_message(tmp_path: Path) -> None:
    """A taken port: exit 5 with 'port P is in use by another process (pid N…)', in the
    foreground and through --detach, and the home is left clean."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    home = tmp_path / "home"
    try:
        for args in (["daemon", "start"], ["daemon", "start", "--detach"]):
            result = gnomon(home, *args, "--port", str(port))
            assert result.code == 5, result.err
            assert f"error: port {port} is in use by another process (pid {os.getpid()})" in (
                result.err
            )
            assert "pick --port or stop it" in result.err
        assert not (home / "daemon.json").exists()
    finally:
        holder.close()


def test_stale_daemon_json_does_not_prevent_a_start(tmp_path: Path) -> None:
    """daemon.json left by a killed daemon (dead pid) is cleaned up and a new one starts."""
    home = tmp_path / "home"
    first = RealDaemon.start(home)
    first.kill()
    assert (home / "daemon.json").exists()
    assert gnomon(home, "daemon", "status").code == 3
    second = RealDaemon.start(home)
    try:
        info = json.loads((home / "daemon.json").read_text())
        assert info["pid"] == second.proc.pid
        assert gnomon(home, "daemon", "ping").code == 0
    finally:
        second.stop()


def test_detach_prints_pid_url_and_log_then_stop(tmp_path: Path) -> None:
    """--detach returns once the daemon answers, printing pid/url/log; stop ends it; status 3."""
    home = tmp_path / "home"
    started = gnomon(home, "daemon", "start", "--detach", "--port", "0")
    assert started.code == 0, started.err
    assert started.out.startswith("gnomon daemon started (pid=")
    info = json.loads((home / "daemon.json").read_text())
    assert f"pid={info['pid']}" in started.out
    assert f"url={info['url']}" in started.out
    assert f"log={home / 'daemon.log'}" in started.out
    status = gnomon(home, "daemon", "status", "--json")
    assert status.code == 0
    assert status.json()["pid"] == info["pid"]
    stopped = gnomon(home, "daemon", "stop")
    assert stopped.code == 0
    assert "stopped" in stopped.out
    assert gnomon(home, "daemon", "status").code == 3
    assert gnomon(home, "daemon", "ping").code == 5


def test_client_command_autostarts_a_daemon(tmp_path: Path) -> None:
    """With autostart on, a client command starts a detached daemon and says so on stderr."""
    home = tmp_path / "home"
    env = cli_env(home)
    del env["GNOMON_AUTOSTART"]
    env["GNOMON_DAEMON_PORT"] = "0"
    result = gnomon(home, "jobs", "list", "--json", env=env)
    try:
        assert result.code == 0, result.err
        assert result.json() == []
        assert result.err.count("\n") == 1
        assert "started a daemon" in result.err
    finally:
        assert gnomon(home, "daemon", "stop").code == 0


def _listener_on_free_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def test_stop_during_a_wait_then_start_resumes_it(tmp_path: Path) -> None:
    """A wait in flight survives daemon stop as `waiting` and completes after a restart."""
    home = tmp_path / "home"
    env = cli_env(home, GNOMON_DAEMON_DRAIN_TIMEOUT="2s", GNOMON_LIMITS_MIN_INTERVAL="100ms")
    first = RealDaemon.start(home, env=env)
    sock, port = _listener_on_free_port()
    try:
        blocking = subprocess.Popen(
            [sys.executable, "-m", "gnomon.cli", "wait", "--until", f"tcp://127.0.0.1:{port}",
             "--every", "200ms", "--then", "shell: echo resumed", "--name", "survivor"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while gnomon(home, "jobs", "show", "survivor", env=env).code != 0:
            assert time.monotonic() < deadline, "the wait job never appeared"
            time.sleep(0.2)
        assert first.stop() == 0
        _, _err = blocking.communicate(timeout=30)
        assert blocking.returncode != 0  # its daemon went away under it
        second = RealDaemon.start(home, env=env)
        try:
            job = gnomon(home, "jobs", "show", "survivor", "--json", env=env).json()
            assert job["status"] == "waiting"
            sock.listen()
            deadline = time.monotonic() + 30
            while job["status"] != "completed":
                assert time.monotonic() < deadline, f"never completed: {job['status']}"
                time.sleep(0.2)
                job = gnomon(home, "jobs", "show", "survivor", "--json", env=env).json()
            assert job["runs"][0]["output"].strip() == "resumed"
        finally:
            second.stop()
    finally:
        sock.close()


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap"])
def test_audit_verify_names_the_first_tampered_seq(tmp_path: Path, tamper: str) -> None:
    """Editing, deleting or swapping one events row makes `audit verify` exit 1 naming the
    first bad seq; the untouched store verifies."""
    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    for i in range(3):
        assert gnomon(home, "schedule", f"j{i}", "--in", "1h", "--do", "noop").code == 0
    assert gnomon(home, "audit", "verify").code == 0
    daemon.stop()
    db = sqlite3.connect(home / "gnomon.db")
    with db:
        if tamper == "edit":
            row = db.execute("SELECT event FROM events WHERE seq = 3").fetchone()
            edited = json.loads(row[0])
            edited["message"] = "nothing to see here"
            db.execute("UPDATE events SET event = ? WHERE seq = 3", (json.dumps(edited),))
        elif tamper == "delete":
            db.execute("DELETE FROM events WHERE seq = 3")
        else:
            a, b = (db.execute("SELECT event FROM events WHERE seq = ?", (s,)).fetchone()[0]
                    for s in (3, 4))  # fmt: skip
            db.execute("UPDATE events SET event = ? WHERE seq = 3", (b,))
            db.execute("UPDATE events SET event = ? WHERE seq = 4", (a,))
    db.close()
    again = RealDaemon.start(home)
    try:
        result = gnomon(home, "audit", "verify")
        assert result.code == 1
        assert "error: hash chain broken at seq 3" in result.err
    finally:
        again.stop()


def test_llm_token_budget_survives_a_restart(tmp_path: Path) -> None:
    """A job's LLM token budget counts what its recorded runs spent, so a restarted daemon
    refuses the call that would go over it (no request reaches the model)."""
    home = tmp_path / "home"
    action = json.dumps({"type": "llm_prompt", "prompt": "status?", "max_total_tokens": 10})
    with LocalHTTPServer(OpenAIStub()) as llm:  # each call reports 18 tokens
        env = cli_env(home, GNOMON_LLM_BASE_URL=f"{llm.url}/v1")
        first = RealDaemon.start(home, env=env)
        try:
            assert gnomon(home, "schedule", "budgeted", "--when", "manual", "--do-json", action,
                          "--max-retries", "0", env=env).code == 0  # fmt: skip
            assert gnomon(home, "jobs", "run", "budgeted", env=env).code == 0
            until(lambda: len(llm.requests) == 1, "the first call")
            until(lambda: _runs(home, env)[0]["outcome"] == "success", "the first run")
        finally:
            first.stop()
        second = RealDaemon.start(home, env=env)
        try:
            assert gnomon(home, "jobs", "run", "budgeted", env=env).code == 0
            runs = until(lambda: (r := _runs(home, env)) and len(r) == 2 and r[0]["outcome"]
                         and r, "the second run")  # fmt: skip
            assert runs[0]["outcome"] == "failed"
            assert "LLM token budget exhausted: 18 of 10 tokens spent" in runs[0]["error"]
            assert len(llm.requests) == 1
        finally:
            second.stop()


def _runs(home: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    shown = gnomon(home, "jobs", "show", "budgeted", "--json", env=env)
    runs: list[dict[str, Any]] = shown.json()["runs"] if shown.code == 0 else []
    return runs


def test_configured_hook_runs_with_the_event_on_stdin(tmp_path: Path) -> None:
    """`[hooks] deploy = [...]` in config.toml: a `hook:deploy` action runs each command with
    the event JSON on stdin; `config show` lists the hook."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    out = tmp_path / "hook-input.json"
    (home / "config.toml").write_text(f"[hooks]\ndeploy = ['cat > {out}']\n")
    daemon = RealDaemon.start(home)
    try:
        assert gnomon(home, "schedule", "ship", "--do", "hook:deploy").code == 0
        until(lambda: out.exists() and out.read_text().strip(), "the hook's stdin")
        event = json.loads(out.read_text())
        assert (event["event"], event["job_name"]) == ("deploy", "ship")
        shown = gnomon(home, "config", "show", "--json").json()
        assert {"key": "hooks.deploy", "value": f"cat > {out}"}.items() <= next(
            r for r in shown if r["key"] == "hooks.deploy"
        ).items()
    finally:
        daemon.stop()


def test_non_loopback_bind_needs_tls_or_insecure_bind(tmp_path: Path) -> None:
    """Binding 0.0.0.0 without TLS is refused (exit 5, the ways out named); with
    --insecure-bind it starts."""
    home = tmp_path / "home"
    refused = gnomon(home, "daemon", "start", "--host", "0.0.0.0", "--port", "0")
    assert refused.code == 5
    assert "refusing to bind 0.0.0.0 without TLS" in refused.err
    assert "--insecure-bind" in refused.err
    daemon = RealDaemon.start(home, "--host", "0.0.0.0", "--insecure-bind")
    try:
        assert daemon.url.startswith("ws://0.0.0.0:")
    finally:
        daemon.stop()
