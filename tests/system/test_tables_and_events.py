"""Operators' everyday output, against a real daemon: the tables (`jobs`, `jobs history`,
`token list`, `breakers`, `inbox`) at COLUMNS=80 in a real pty (read through pyte) and
piped, with long names, tags and schedules — one line per row, nothing wrapped; events
and the audit export chosen like journalctl; errors as JSON under --json."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until
from support.pty_term import Terminal

pytestmark = pytest.mark.slow

LONG = "nightly-backup-of-the-production-database-cluster-in-eu-west"
TABLES = {
    "jobs": ["jobs"],
    "jobs history": ["jobs", "history"],
    "token list": ["token", "list"],
    "breakers": ["breakers"],
    "inbox": ["inbox"],
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    running = RealDaemon.start(tmp_path_factory.mktemp("tables") / "home")
    yield running
    assert running.stop() == 0


def ok(d: RealDaemon, *args: str, env: dict[str, str] | None = None) -> Result:
    result = gnomon(d.home, *args, env=env)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


@pytest.fixture(scope="module")
def agent_env(daemon: RealDaemon) -> dict[str, str]:
    """Long-named jobs, tags and schedules; a failing job's breaker; an agent whose jobs
    ended (its inbox). The agent's environment is returned, for `inbox`."""
    tags = ["--tag", "team=platform-operations", "--tag", "env=production-eu-west-1"]
    ok(daemon, "schedule", LONG, "--cron", "0 3 * * mon-fri", *tags, "--do", "noop")
    ok(daemon, "schedule", f"{LONG}-replica", "--every", "1h30m", *tags, "--do", "noop")
    ok(daemon, "schedule", "soon", "--in", "2h", "--do", "noop")
    ok(daemon, "schedule", "breaks", "--do", "shell: echo failing on purpose; exit 3",
       "--max-retries", "0", "--i-know")  # fmt: skip
    made = ok(daemon, "token", "create", "--name", "a-summarising-agent-with-a-long-name",
              "--agent", "--max-jobs", "5", "--min-interval", "1m", "--json").json()  # fmt: skip
    env = cli_env(daemon.home, GNOMON_TOKEN=made["token"])
    ok(daemon, "schedule", f"{LONG}-agent", "--do", "noop: a result with a rather long message "
       "that goes on and on past the edge of any terminal", env=env)  # fmt: skip
    until(lambda: ok(daemon, "inbox", "--json", env=env).json(), "an inbox entry")
    until(lambda: ok(daemon, "breakers", "--json").json(), "a breaker")
    return env


def test_tables_piped_are_whole_and_aligned(daemon: RealDaemon, agent_env: dict[str, str]) -> None:
    """Through a pipe every table is one line per row with nothing cut, even at COLUMNS=80."""
    narrow = {**cli_env(daemon.home), "COLUMNS": "80"}
    for name, args in TABLES.items():
        env = {**agent_env, "COLUMNS": "80"} if name == "inbox" else narrow
        result = ok(daemon, *args, env=env)
        rows = ok(daemon, *args, "--json", env=env).json()
        lines = result.out.splitlines()
        assert len(lines) == len(rows) + 1, (name, result.out)
        assert "…" not in result.out, name
        if name in ("jobs", "jobs history"):
            assert any(line.split()[1] == LONG for line in lines[1:])
            assert any("env=production-eu-west-1, team=platform-operations" in ln for ln in lines)
            assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", result.out)  # no raw ISO
        if name == "token list":
            assert "agent:a-summarising-agent-with-a-long-name" in result.out


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_in_an_80_column_terminal_fit_one_line_per_row(
    daemon: RealDaemon, agent_env: dict[str, str], name: str
) -> None:
    """In an 80-column pty the screen shows the header and one line per row, each within
    80 columns, each starting with its row's first cell; long cells end in …."""
    env = agent_env if name == "inbox" else cli_env(daemon.home)
    rows = ok(daemon, *TABLES[name], "--json", env=env).json()
    term = Terminal.spawn([sys.executable, "-m", "gnomon.cli", *TABLES[name]], env, columns=80)
    try:
        assert term.wait_exit(30) == 0
        lines = term.lines()
    finally:
        term.close()
    assert len(lines) == len(rows) + 1, term.text
    assert all(len(line) <= 80 for line in lines)
    firsts = sorted(first_cell(name, row) for row in rows)
    assert sorted(line.split()[0] for line in lines[1:]) == firsts, term.text
    if name in ("jobs", "jobs history", "token list", "inbox"):
        assert any(line.rstrip().endswith("…") or "… " in line for line in lines[1:])


def first_cell(name: str, row: dict[str, object]) -> str:
    """What a row's line starts with, from its --json form."""
    if name in ("jobs", "jobs history"):
        return str(row["id"])[:8]
    if name == "token list":
        return str(row["id"])
    if name == "breakers":
        return str(row["key"]).split()[0]
    return "●" if not row["read"] else str(row["id"])


def test_wide_output_shows_every_column_uncut(
    daemon: RealDaemon, agent_env: dict[str, str]
) -> None:
    """-o wide adds OWNER and DO and cuts nothing, even in an 80-column pty."""
    term = Terminal.spawn([sys.executable, "-m", "gnomon.cli", "jobs", "-o", "wide"],
                          cli_env(daemon.home), columns=300)  # fmt: skip
    try:
        assert term.wait_exit(30) == 0
        header, *_ = term.lines()
    finally:
        term.close()
    assert header.split()[-3:] == ["OWNER", "CREATED", "DO"]
    assert LONG in term.text
    assert ok(daemon, "jobs", "-o", "json").json() == ok(daemon, "jobs", "--json").json()


def test_errors_are_one_json_object_on_stderr_under_json(daemon: RealDaemon) -> None:
    """Under --json (or -o json) an error is one JSON object on stderr, same exit code."""
    missing = gnomon(daemon.home, "jobs", "show", "no-such-job", "-o", "json")
    assert missing.code == 3
    assert missing.out == ""
    assert json.loads(missing.err)["error"]["type"] == "NotFound"
    bad = gnomon(daemon.home, "schedule", "x", "--every", "5parsecs", "--do", "noop", "--json")
    assert bad.code == 2
    error = json.loads(bad.err)["error"]
    assert "5parsecs" in error["token"]
    assert error["exit_code"] == 2
    usage = gnomon(daemon.home, "jobs", "--bogus", "--json")
    assert (usage.code, json.loads(usage.err)["error"]["type"]) == (2, "UsageError")


def test_events_tail_since_and_follow_from_the_end(
    daemon: RealDaemon, agent_env: dict[str, str]
) -> None:
    """--tail N prints the last N, --since 1h/seq:N bound the window, and --follow starts
    with the last 10 events instead of replaying everything, then streams new ones."""
    for i in range(5):
        ok(daemon, "schedule", f"filler-{i}", "--in", "3h", "--do", "noop")
    everything = [json.loads(x) for x in ok(daemon, "events", "--json").out.splitlines()]
    assert len(everything) > 15
    seqs = [e["seq"] for e in everything]
    tail = [
        json.loads(x)["seq"] for x in ok(daemon, "events", "--json", "--tail", "3").out.splitlines()
    ]
    assert tail == seqs[-3:]
    hour = ok(daemon, "events", "--json", "--since", "1h").out.splitlines()
    assert [json.loads(x)["seq"] for x in hour] == seqs
    window = ok(daemon, "events", "--json", "--since", f"seq:{seqs[2]}", "--until", str(seqs[5]))
    assert [json.loads(x)["seq"] for x in window.out.splitlines()] == seqs[3:6]
    follower = subprocess.Popen(
        [sys.executable, "-m", "gnomon.cli", "events", "--follow", "--json"],
        env=cli_env(daemon.home), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert follower.stdout is not None
        first = [json.loads(follower.stdout.readline())["seq"] for _ in range(10)]
        assert first == list(range(first[0], first[0] + 10))  # the end, not seq 1 onwards
        assert first[0] >= seqs[-10]
        ok(daemon, "schedule", "followed-later", "--in", "1h", "--do", "noop")
        new = json.loads(follower.stdout.readline())
        assert (new["type"], new["name"]) == ("job.created", "followed-later")
    finally:
        follower.kill()
        follower.communicate()


def test_audit_export_takes_the_same_window(daemon: RealDaemon, tmp_path: Path) -> None:
    """audit export --since 1h (refused before), --type, --job and --tail choose events."""
    ok(daemon, "schedule", "audited", "--in", "1h", "--do", "noop")
    hour = [json.loads(x) for x in ok(daemon, "audit", "export", "--since", "1h").out.splitlines()]
    assert hour
    assert hour[-1]["name"] == "audited"
    created = ok(daemon, "audit", "export", "--type", "job.created", "--job", "audited").out
    assert [json.loads(x)["type"] for x in created.splitlines()] == ["job.created"]
    last = ok(daemon, "audit", "export", "--tail", "2", "-o", str(tmp_path / "t.jsonl"))
    assert "2 event(s) written" in last.err
    future = gnomon(daemon.home, "audit", "export", "--since", "soon")
    assert future.code == 2
    assert "--since: cannot read 'soon'" in future.err
