"""The real CLI, as subprocesses, against one real daemon (temp home, port 0).

Covers docs/commands.md's client commands with their flags, ``--json`` parsed and checked,
and the exit codes of §3.7 (0 ok, 1 failed, 2 usage, 3 not found, 4 refused, 5 no daemon).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until

pytestmark = pytest.mark.slow

UNLIMITED_CREATES = {
    "GNOMON_LIMITS_OWNER_RPS": "1000",
    "GNOMON_LIMITS_OWNER_BURST": "1000",
    "GNOMON_LIMITS_GLOBAL_RPS": "1000",
    "GNOMON_LIMITS_GLOBAL_BURST": "1000",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    home = tmp_path_factory.mktemp("cli") / "home"
    # The module creates ~60 jobs in a few seconds from one owner: rates that admit them
    # (the rate limits themselves are tested in test_agents and test_metrics_health).
    env = cli_env(home, GNOMON_LIMITS_MIN_INTERVAL="100ms", **UNLIMITED_CREATES)
    running = RealDaemon.start(home, env=env)
    yield running
    assert running.stop() == 0


def g(d: RealDaemon, *args: str) -> Result:
    return gnomon(d.home, *args)


def ok(d: RealDaemon, *args: str) -> Result:
    """Run and require exit 0."""
    result = g(d, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def show(d: RealDaemon, ref: str) -> dict[str, Any]:
    value: dict[str, Any] = ok(d, "jobs", "show", ref, "--json").json()
    return value


def test_schedule_prints_the_contract_line_and_json(daemon: RealDaemon) -> None:
    """schedule creates a job (✔ line), --json gives the stable job keys."""
    result = ok(
        daemon,
        "schedule",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--do",
        "shell: echo n",
        "--tag",
        "team=ops",
        "--description",
        "nightly job",
    )
    assert result.out.startswith("✔ job ")
    assert "created (nightly) — next fire " in result.out
    job = ok(daemon, "schedule", "hourly", "--every", "1h", "--do", "noop", "--json").json()
    for key in (
        "id",
        "name",
        "status",
        "owner",
        "created_by",
        "tags",
        "description",
        "schedule",
        "action",
        "wait",
        "depends_on",
        "triggers",
        "next_fire_at",
        "last_outcome",
        "attempts",
        "cycle",
        "message",
    ):
        assert key in job
    assert job["status"] == "pending"
    assert job["schedule"] == "every 1h"
    assert job["owner"].startswith("user:")


def test_name_clash_exits_2_unless_replace(daemon: RealDaemon) -> None:
    """A live name is unique (exit 2 with a hint); --replace updates in place."""
    first = ok(daemon, "schedule", "dup", "--every", "1h", "--do", "noop", "--json").json()
    clash = g(daemon, "schedule", "dup", "--every", "1h", "--do", "noop")
    assert clash.code == 2
    assert clash.err.startswith("error: a live job is already named 'dup'")
    assert "hint: " in clash.err
    again = ok(daemon, "schedule", "dup", "--every", "2h", "--do", "noop", "--replace", "--json")
    assert again.json()["id"] == first["id"]
    assert again.json()["schedule"] == "every 2h"


@pytest.mark.parametrize(
    ("args", "token"),
    [
        (["--every", "5parsecs", "--do", "noop"], "5parsecs"),
        (["--cron", "61 * * * *", "--do", "noop"], "61"),
        (["--every", "1h", "--do", "teleport: mars"], "teleport"),
        (["--every", "1h", "--do", "noop", "--overlap", "sometimes"], "sometimes"),
        (["--every", "1h", "--do", "noop", "--frobnicate"], "--frobnicate"),
    ],
)
def test_bad_input_exits_2_naming_the_token(
    daemon: RealDaemon, args: list[str], token: str
) -> None:
    """Bad DSLs, choices and unknown flags: exit 2, error: names the token, nothing made."""
    result = g(daemon, "schedule", "bad-input", *args)
    assert result.code == 2
    assert result.err.startswith("error: ")
    assert token in result.err
    assert g(daemon, "jobs", "show", "bad-input").code == 3


def test_not_found_exits_3(daemon: RealDaemon) -> None:
    """An unknown REF is exit 3 with a hint."""
    result = g(daemon, "jobs", "show", "no-such-job")
    assert result.code == 3
    assert "error: no job 'no-such-job'" in result.err
    assert "hint: " in result.err


def test_policy_refusal_exits_4_and_i_know_admits(daemon: RealDaemon) -> None:
    """A command the policy asks about is refused (exit 4, ways out listed) unless --i-know."""
    refused = g(daemon, "schedule", "toucher", "--in", "1h", "--do", "shell: touch /tmp/x")
    assert refused.code == 4
    assert "--i-know" in refused.err
    ok(daemon, "schedule", "toucher", "--in", "1h", "--do", "shell: touch /tmp/x", "--i-know")
    check = g(daemon, "policy", "check", "touch /tmp/x", "--json")
    assert check.code == 4
    assert check.json()["decision"] == "ask"


def test_policy_rules_round_trip(daemon: RealDaemon) -> None:
    """policy allow/deny/remove/list/check change what the daemon decides."""
    ok(daemon, "policy", "allow", "make *")
    assert ok(daemon, "policy", "check", "make build", "--json").json()["decision"] == "allow"
    ok(daemon, "policy", "deny", "make deploy*")
    denied = g(daemon, "policy", "check", "make deploy-prod")
    assert denied.code == 4
    assert denied.out.startswith("deny")
    rules = ok(daemon, "policy", "list", "--json").json()
    assert {"kind": "deny", "pattern": "make deploy*"} in rules
    ok(daemon, "policy", "remove", "make *")
    ok(daemon, "policy", "remove", "make deploy*")
    assert g(daemon, "policy", "check", "make build", "--json").json()["decision"] == "ask"


def test_jobs_list_filters_and_history(daemon: RealDaemon) -> None:
    """list filters by status, tag, name and owner; history includes finished jobs."""
    ok(daemon, "schedule", "tagged-a", "--in", "1h", "--do", "noop", "--tag", "env=stage")
    ok(daemon, "schedule", "tagged-b", "--in", "1h", "--do", "noop", "--tag", "env=prod")
    names = {j["name"] for j in ok(daemon, "jobs", "list", "--tag", "env=stage", "--json").json()}
    assert names == {"tagged-a"}
    names = {j["name"] for j in ok(daemon, "jobs", "--name", "tagged", "--json").json()}
    assert names == {"tagged-a", "tagged-b"}
    assert ok(daemon, "jobs", "list", "--owner", "agent", "--json").json() == []
    pending = ok(daemon, "jobs", "list", "--status", "pending", "--json").json()
    assert pending
    assert all(j["status"] == "pending" for j in pending)
    ok(daemon, "jobs", "cancel", "tagged-b")
    live = {j["name"] for j in ok(daemon, "jobs", "list", "--json").json()}
    assert "tagged-b" not in live
    every = {j["name"]: j["status"] for j in ok(daemon, "jobs", "history", "--json").json()}
    assert every["tagged-b"] == "cancelled"
    human = ok(daemon, "jobs").out
    assert "NAME" in human
    assert "tagged-a" in human


def test_run_now_logs_and_show(daemon: RealDaemon) -> None:
    """jobs run fires a manual job; logs show its output; show --json has runs/transitions."""
    ok(daemon, "schedule", "manual-echo", "--when", "manual", "--do", "shell: echo hello-logs")
    ok(daemon, "jobs", "run", "manual-echo")
    until(lambda: show(daemon, "manual-echo")["runs"], "a run of manual-echo")
    detail = until(
        lambda: (d := show(daemon, "manual-echo"))["runs"][0]["outcome"] and d, "run finished"
    )
    run = detail["runs"][0]
    assert run["outcome"] == "success"
    assert run["exit_code"] == 0
    assert run["output"].strip() == "hello-logs"
    assert detail["transitions"]
    assert detail["status"] == "pending"
    logs = ok(daemon, "jobs", "logs", "manual-echo")
    assert "cycle 1 attempt 1" in logs.out
    human = ok(daemon, "jobs", "show", "manual-echo").out
    assert "created by" in human
    assert "token admin via gnomon-cli" in human
    assert "hello-logs" in logs.out
    lines = ok(daemon, "jobs", "logs", "manual-echo", "--json", "--cycle", "1").out
    assert json.loads(lines)["output"].strip() == "hello-logs"
    assert "next fire" not in ok(daemon, "jobs", "show", detail["id"][:6]).out.split("status")[0]


def test_pause_resume_by_tag(daemon: RealDaemon) -> None:
    """pause/resume --tag act on every matching job and print the count."""
    for name in ("pr-1", "pr-2"):
        ok(daemon, "schedule", name, "--every", "1h", "--do", "noop", "--tag", "group=pr")
    paused = ok(daemon, "jobs", "pause", "--tag", "group=pr")
    assert "2 job(s) paused" in paused.out
    assert show(daemon, "pr-1")["status"] == "paused"
    result = ok(daemon, "jobs", "resume", "--tag", "group=pr", "--json").json()
    assert result["count"] == 2
    assert show(daemon, "pr-2")["status"] == "pending"


def _pids_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry.name))
    return found


def test_cancel_by_tag_kills_the_running_process_group(daemon: RealDaemon) -> None:
    """jobs cancel --tag cancels a running shell job and its whole process group dies."""
    marker = "sleep 3171"
    ok(
        daemon,
        "schedule",
        "long-runner",
        "--do",
        f"shell: {marker} & {marker}; wait",
        "--tag",
        "kill=me",
        "--timeout",
        "10m",
    )
    until(lambda: len(_pids_running(marker)) >= 3, "the shell and both sleeps running")
    assert show(daemon, "long-runner")["status"] == "running"
    result = ok(daemon, "jobs", "cancel", "--tag", "kill=me", "--reason", "test says so")
    assert "1 job(s) cancelled" in result.out
    until(lambda: not _pids_running(marker), f"the process group gone {_pids_running(marker)}")
    job = show(daemon, "long-runner")
    assert job["status"] == "cancelled"


def _listen_later(port_holder: list[int], delay: float) -> threading.Thread:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_holder.append(sock.getsockname()[1])

    def later() -> None:
        time.sleep(delay)
        sock.listen()
        time.sleep(120)  # listening until well after a slow (loaded) waiter's first poll
        sock.close()

    thread = threading.Thread(target=later, daemon=True)
    thread.start()
    return thread


def test_wait_blocks_until_a_tcp_port_opens(daemon: RealDaemon) -> None:
    """wait --until tcp:// blocks until the port listens, runs --then, exits 0."""
    port: list[int] = []
    _listen_later(port, 1.5)
    result = ok(
        daemon,
        "wait",
        "--until",
        f"tcp://127.0.0.1:{port[0]}",
        "--every",
        "300ms",
        "--then",
        "shell: echo port-open",
        "--name",
        "port-waiter",
    )
    *run, summary = result.out.splitlines()  # --then's run and output first (jobs logs form)
    assert summary.startswith("✔ port-waiter:")
    assert "port-open" in run
    job = show(daemon, "port-waiter")
    assert job["status"] == "completed"
    assert job["runs"][0]["output"].strip() == "port-open"


def test_wait_timeout_exits_1_and_async_returns_the_id(daemon: RealDaemon) -> None:
    """A blocking wait that times out exits 1; --async prints the id at once."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    result = g(
        daemon,
        "wait",
        "--until",
        f"tcp://127.0.0.1:{port}",
        "--every",
        "200ms",
        "--timeout",
        "1s",
        "--json",
    )
    assert result.code == 1
    assert result.json()["status"] == "timed_out"
    job_id = ok(daemon, "wait", "--until", f"tcp://127.0.0.1:{port}", "--async").out.strip()
    assert show(daemon, job_id)["status"] in ("waiting", "pending")
    ok(daemon, "jobs", "cancel", job_id)
    closed.close()


def test_depends_on_tree_and_failure_propagation(daemon: RealDaemon) -> None:
    """A failed predecessor fails its dependent with the contract's message; tree shows it."""
    ok(
        daemon,
        "schedule",
        "smoke",
        "--in",
        "2s",
        "--do",
        "shell: exit 3",
        "--max-retries",
        "0",
        "--stop-on-failure",
    )
    ok(daemon, "schedule", "deploy", "--depends-on", "smoke", "--do", "noop")
    tree = ok(daemon, "jobs", "tree", "--json").json()
    node = next(n for n in tree["nodes"] if n["name"] == "deploy")
    assert node["kind"] == "depends_on"
    assert "deploy" in ok(daemon, "jobs", "tree").out
    job = until(lambda: (j := show(daemon, "deploy"))["status"] == "failed" and j, "deploy fails")
    assert job["message"] == "dependency failed: smoke ended failed"


def test_clear_lists_then_deletes(daemon: RealDaemon) -> None:
    """clear without --yes only lists; with --yes the records are gone."""
    ok(daemon, "schedule", "to-clear", "--in", "1h", "--do", "noop")
    ok(daemon, "jobs", "cancel", "to-clear")
    listed = ok(daemon, "jobs", "clear", "--cancelled", "--name", "to-clear", "--json").json()
    assert listed["count"] == 1
    assert g(daemon, "jobs", "show", listed["jobs"][0]["id"]).code == 0
    ok(daemon, "jobs", "clear", "--cancelled", "--name", "to-clear", "--yes")
    assert g(daemon, "jobs", "show", listed["jobs"][0]["id"]).code == 3


def test_events_json_filters_and_audit(daemon: RealDaemon, tmp_path: Path) -> None:
    """events --json is NDJSON filtered by type/job/since; audit export/verify agree."""
    ok(daemon, "schedule", "evented", "--in", "1h", "--do", "noop")
    lines = ok(daemon, "events", "--json", "--type", "job.created").out.splitlines()
    events = [json.loads(line) for line in lines]
    assert events
    assert all(e["type"] == "job.created" for e in events)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    mine = [
        json.loads(line)
        for line in ok(daemon, "events", "--json", "--job", "evented").out.splitlines()
    ]
    assert {e["name"] for e in mine} == {"evented"}
    after = [
        json.loads(x)
        for x in ok(daemon, "events", "--json", "--since", str(seqs[-1])).out.splitlines()
    ]
    assert all(e["seq"] > seqs[-1] for e in after)
    out = tmp_path / "audit.jsonl"
    ok(daemon, "audit", "export", "-o", str(out))
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["seq"] for e in exported] == list(range(1, len(exported) + 1))
    for key in ("type", "timestamp", "job_id", "status", "message", "payload"):
        assert key in exported[0]
    verified = ok(daemon, "audit", "verify", "--json").json()
    assert verified["ok"]
    assert verified["checked"] >= len(exported)


def test_breakers_config_status_and_inbox(daemon: RealDaemon) -> None:
    """breakers, config show, daemon status/ping and inbox answer with JSON."""
    assert isinstance(ok(daemon, "breakers", "--json").json(), list)
    unknown = g(daemon, "breakers", "reset", "tcp:127.0.0.1:9")
    assert unknown.code == 3
    assert "no breaker 'tcp:127.0.0.1:9'" in unknown.err
    rows = ok(daemon, "config", "show", "--json").json()
    assert any(r["key"] == "daemon.port" for r in rows)
    status = ok(daemon, "daemon", "status", "--json").json()
    assert status["running"]
    assert status["pid"] == daemon.proc.pid
    assert ok(daemon, "daemon", "ping").out.strip() == "pong"
    assert ok(daemon, "inbox", "--json").json() == []


def test_no_daemon_exits_5(tmp_path: Path) -> None:
    """With autostart off and no daemon, a client command exits 5 with the contract line."""
    result = gnomon(tmp_path / "empty-home", "jobs", "list")
    assert result.code == 5
    assert result.err.startswith(
        "error: no gnomon daemon is running — start one with: gnomon daemon start --detach"
    )


def test_usage_error_hint_names_the_command(tmp_path: Path) -> None:
    """An unknown subcommand is exit 2 with a hint at the command's --help."""
    env = cli_env(tmp_path, GNOMON_AUTOSTART="0")
    result = gnomon(tmp_path, "jobs", "frobnicate", env=env)
    assert result.code == 2
    assert "hint: gnomon jobs --help" in result.err


def test_a_secret_in_env_never_reaches_logs_events_audit_or_show(daemon: RealDaemon) -> None:
    """A job's env value echoed by its command is redacted in jobs logs, events, audit
    export and jobs show --json (reference issue 7's acceptance)."""
    secret = "s3cr3t-value-8841"
    ok(daemon, "schedule", "secretive", "--env", f"API_TOKEN={secret}",
       "--do", "shell: echo token is $API_TOKEN")  # fmt: skip
    until(lambda: "token is" in g(daemon, "jobs", "logs", "secretive").out, "the run's output")
    texts = {
        "logs": ok(daemon, "jobs", "logs", "secretive").out,
        "logs --json": ok(daemon, "jobs", "logs", "secretive", "--json").out,
        "events": ok(daemon, "events", "--json").out,
        "audit": ok(daemon, "audit", "export").out,
        "show": ok(daemon, "jobs", "show", "secretive", "--json").out,
    }
    leaked = [name for name, text in texts.items() if secret in text]
    assert not leaked, f"the secret leaked through {leaked}"
    assert "token is ***" in texts["logs"]


def test_slash_command_action_runs_a_gnomon_command(daemon: RealDaemon) -> None:
    """A `/jobs cancel --tag …` action cancels the tagged jobs through the CLI, as the job's
    owner; its output is the command's output."""
    for name in ("stage-a", "stage-b"):
        ok(daemon, "schedule", name, "--in", "1h", "--do", "noop", "--tag", "env=staging")
    ok(daemon, "schedule", "janitor", "--do", "/jobs cancel --tag env=staging")
    job = until(
        lambda: (j := show(daemon, "janitor"))["status"] == "completed" and j, "janitor done"
    )
    assert "2 job(s) cancelled" in job["runs"][0]["output"]
    assert show(daemon, "stage-a")["status"] == "cancelled"
    assert show(daemon, "stage-b")["status"] == "cancelled"


def test_bug_16_1_1_and_waits_hold_no_worker(daemon: RealDaemon) -> None:
    """The daemon runs jobs (reference bug 16.1.1), and 8 waits in flight do not stall a
    job that is due (docs/lessons.md: four waits held all four workers)."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    try:
        for i in range(8):
            ok(daemon, "wait", "--until", f"tcp://127.0.0.1:{port}", "--every", "1s",
               "--tag", "crowd=waits", "--name", f"crowd-{i}", "--async")  # fmt: skip
        ok(daemon, "schedule", "due-now", "--do", "shell: echo ran")
        job = until(lambda: (j := show(daemon, "due-now"))["status"] == "completed" and j, "ran")
        assert job["runs"][0]["output"].strip() == "ran"
        waiting = ok(daemon, "jobs", "list", "--tag", "crowd=waits", "--json").json()
        assert len(waiting) == 8
        assert {j["status"] for j in waiting} <= {"waiting", "pending"}
    finally:
        ok(daemon, "jobs", "cancel", "--tag", "crowd=waits")
        closed.close()


def test_ctrl_c_during_wait_leaves_the_job_running(daemon: RealDaemon) -> None:
    """SIGINT to a blocking wait exits 130, says the job keeps running and names it; the
    job is still waiting."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gnomon.cli", "wait", "--until", "tcp://127.0.0.1:9",
         "--every", "1s", "--name", "interrupted-wait"],
        env=cli_env(daemon.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    until(lambda: g(daemon, "jobs", "show", "interrupted-wait").code == 0, "the wait job")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    job = show(daemon, "interrupted-wait")
    assert f"job {job['id']} keeps running" in err
    assert job["status"] == "waiting"
    ok(daemon, "jobs", "cancel", "interrupted-wait")


def test_every_schedule_flag_reaches_the_daemon(daemon: RealDaemon) -> None:
    """One job created with every `schedule` flag (docs/commands.md): the daemon's stored spec
    carries each value (env values hidden in the view)."""
    ok(daemon, "schedule", "flag-pre", "--in", "1h", "--do", "noop")
    ok(daemon, "schedule", "flag-template", "--when", "manual", "--do", "noop")
    job = ok(
        daemon, "schedule", "allflags", "--cron", "0 4 * * mon-fri", "--do", "shell: echo all",
        "--until", "file:/tmp/never-there", "--timeout", "2m", "--wait-timeout", "10m",
        "--poll", "30s", "--max-polls", "7", "--on-timeout", "fallback",
        "--fallback", "noop: fell back", "--max-retries", "2", "--backoff", "5s",
        "--backoff-max", "1m", "--backoff-mult", "3", "--backoff-jitter", "0.1",
        "--depends-on", "flag-pre", "--trigger-rule", "all_done", "--triggers", "flag-template",
        "--triggers-on", "done", "--ttl", "3d", "--tag", "team=ops", "--tag", "solo",
        "--description", "every flag", "--tz", "Europe/Berlin", "--dst-gap", "skip",
        "--dst-fold", "both", "--misfire", "skip", "--misfire-grace", "2m", "--overlap", "queue",
        "--breaker", "custom-key", "--cwd", "/tmp", "--env", "A=1", "--i-know",
        "--stop-on-failure", "--json",
    ).json()  # fmt: skip
    spec = job["spec"]
    assert spec["schedule"] == {"type": "cron", "expr": "0 4 * * mon-fri", "tz": "Europe/Berlin",
                                "dst_gap": "skip", "dst_fold": "both", "jitter": 0.0}  # fmt: skip
    assert spec["wait"]["condition"]["path"] == "/tmp/never-there"
    assert spec["wait"]["on_timeout"] == "fallback"
    assert spec["wait"]["fallback"] == {"type": "noop", "message": "fell back"}
    assert spec["budget"] == {
        "action_timeout": 120.0, "max_retries": 2, "backoff_initial": 5.0, "backoff_max": 60.0,
        "backoff_mult": 3.0, "backoff_jitter": 0.1, "wait_timeout": 600.0,
        "poll_interval": 30.0, "max_polls": 7,
    }  # fmt: skip
    assert spec["depends_on"] == ["flag-pre"]
    assert spec["trigger_rule"] == "all_done"
    assert spec["triggers"] == ["flag-template"]
    assert spec["triggers_on"] == "done"
    assert spec["ttl"] == 3 * 86400
    assert spec["tags"] == {"team": "ops", "solo": ""}
    assert spec["description"] == "every flag"
    assert (spec["misfire"], spec["misfire_grace"], spec["overlap"]) == ("skip", 120.0, "queue")
    assert (spec["breaker"], spec["cwd"], spec["env"]) == ("custom-key", "/tmp", {"A": "***"})
    assert spec["i_know"] is True
    assert spec["stop_on_failure"] is True
    assert job["status"] == "blocked"
    assert job["depends_on"] == ["flag-pre"]


def _follow(daemon: RealDaemon, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gnomon.cli", *args],
        env=cli_env(daemon.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_events_and_logs_follow_stream_live(daemon: RealDaemon) -> None:
    """events --follow prints events committed after it started; jobs logs --follow prints
    a run that ends while it follows; both stop on SIGINT with exit 130."""
    last = ok(daemon, "events", "--json").out.splitlines()[-1]
    since = json.loads(last)["seq"]
    events = _follow(daemon, "events", "--follow", "--json", "--type", "job.created",
                     "--since", str(since))  # fmt: skip
    ok(daemon, "schedule", "follow-me", "--when", "manual", "--do", "shell: echo followed")
    logs = _follow(daemon, "jobs", "logs", "follow-me", "--follow")
    assert events.stdout is not None
    first = json.loads(events.stdout.readline())
    assert (first["type"], first["name"]) == ("job.created", "follow-me")
    assert logs.stderr is not None
    assert logs.stderr.readline().startswith("following follow-me")
    ok(daemon, "jobs", "run", "follow-me")
    assert logs.stdout is not None
    lines = []
    while not any("followed" in line for line in lines):
        line = logs.stdout.readline()
        assert line, "jobs logs --follow ended early"
        lines.append(line)
    for proc in (events, logs):
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode == 130


def test_remaining_wait_clear_and_audit_flags(daemon: RealDaemon, tmp_path: Path) -> None:
    """wait --max-polls/--on-timeout fallback/--fallback/--tag/--i-know, jobs clear
    --failed/--completed/--timed-out/--status/--older-than, audit export --since/--until."""
    fallen = g(daemon, "wait", "--until", "tcp://127.0.0.1:9", "--every", "100ms",
              "--max-polls", "2", "--on-timeout", "fallback", "--fallback", "noop: fell back",
              "--tag", "flags=wait", "--i-know", "--name", "fallen", "--json")  # fmt: skip
    assert fallen.code == 1  # the condition never held: a fallback is not a success
    fell = fallen.json()
    assert fell["status"] == "timed_out"
    assert fell["tags"] == {"flags": "wait"}
    runs = show(daemon, "fallen")["runs"]
    assert runs[0]["fallback"] is True
    ok(daemon, "schedule", "done-ok", "--do", "noop")
    ok(daemon, "schedule", "done-bad", "--do", "shell: exit 1", "--max-retries", "0")
    until(lambda: show(daemon, "done-bad")["status"] == "failed", "done-bad fails")
    until(lambda: show(daemon, "done-ok")["status"] == "completed", "done-ok completes")
    picked = {
        flag: {j["name"] for j in ok(daemon, "jobs", "clear", flag, "--json").json()["jobs"]}
        for flag in ("--failed", "--completed", "--timed-out")
    }
    assert "done-bad" in picked["--failed"]
    assert "done-ok" in picked["--completed"]
    assert "fallen" in picked["--timed-out"]
    by_status = ok(daemon, "jobs", "clear", "--status", "failed", "--json").json()
    assert {j["status"] for j in by_status["jobs"]} == {"failed"}
    assert ok(daemon, "jobs", "clear", "--older-than", "1d", "--json").json()["count"] == 0
    out = tmp_path / "window.jsonl"
    ok(daemon, "audit", "export", "--since", "2000-01-01T00:00", "--until", "2000-01-02", "-o",
       str(out))  # fmt: skip
    assert out.read_text() == ""
    everything = ok(daemon, "audit", "export", "--since", "2000-01-01").out.splitlines()
    assert len(everything) > 10


def test_a_job_created_by_a_job_records_its_parent(daemon: RealDaemon) -> None:
    """A `/schedule …` slash action creates a job whose created_by names the parent job
    and run (provenance), shown by jobs show."""
    parent = ok(daemon, "schedule", "spawner", "--do", "/schedule spawned --in 1h --do noop",
                "--json").json()  # fmt: skip
    until(lambda: show(daemon, "spawner")["status"] == "completed", "the spawner ran")
    child = show(daemon, "spawned")
    assert child["created_by"]["parent_job"] == parent["id"]
    assert child["created_by"]["parent_run"] == f"{parent['id']}.1.1"
    assert f"from job {parent['id']}" in ok(daemon, "jobs", "show", "spawned").out
