"""Out-of-bounds values on a real daemon through the CLI, and a job stored with a spec
that today's bounds refuse (an older gnomon's row, written into the real store file): the
daemon still becomes ready, fails that job with a clear event, and answers."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, gnomon

pytestmark = pytest.mark.slow


def test_cli_refuses_out_of_bounds_values_with_exit_2(tmp_path: Path) -> None:
    """`schedule --every 5ms`, a ten-year ttl and a 500 ms interval under the
    default limits.min_interval all exit 2 with the field and the limit named."""
    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    try:
        floor = gnomon(home, "schedule", "a", "--every", "5ms", "--do", "noop")
        assert floor.code == 2, floor
        assert "10ms" in floor.err
        huge = gnomon(home, "schedule", "b", "--every", "1h", "--do", "noop", "--ttl", "600w")
        assert huge.code == 2, huge
        assert "--ttl" in huge.err
        assert "10 years" in huge.err
        limit = gnomon(home, "schedule", "c", "--every", "500ms", "--do", "noop")
        assert limit.code == 2, limit
        assert "limits.min_interval" in limit.err
        assert gnomon(home, "jobs", "--all", "--json").json() == []
    finally:
        assert daemon.stop() == 0


def test_a_stored_ten_microsecond_job_does_not_stop_the_next_start(tmp_path: Path) -> None:
    """A job whose stored interval is 10 µs and due now (as an older gnomon left it) made
    every start spin for ever. Now the daemon becomes ready, the job is failed with
    job.failed naming the refused field, and other commands answer."""
    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    created = gnomon(home, "schedule", "old", "--every", "1h", "--do", "noop")
    assert created.code == 0, created
    assert daemon.stop() == 0
    with sqlite3.connect(home / "gnomon.db") as db:
        (state,) = db.execute("SELECT state FROM jobs WHERE name = 'old'").fetchone()
        data = json.loads(state)
        data["spec"]["schedule"]["every"] = 0.00001
        db.execute(
            "UPDATE jobs SET state = ?, wake_ts = ? WHERE name = 'old'",
            (json.dumps(data), time.time() - 60),
        )
    again = RealDaemon.start(home)
    try:
        assert gnomon(home, "daemon", "ping").code == 0
        shown = _until_failed(home)
        assert "stored spec refused" in shown["message"]
        assert "every" in shown["message"]
        events = gnomon(home, "events", "--json", "--job", "old").out
        failed = [json.loads(line) for line in events.splitlines() if "job.failed" in line]
        assert len(failed) == 1
        assert "stored spec refused" in failed[0]["message"]
        assert gnomon(home, "schedule", "new", "--every", "1h", "--do", "noop").code == 0
    finally:
        assert again.stop() == 0


def _until_failed(home: Path) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        shown = gnomon(home, "jobs", "show", "old", "--json").json()
        if shown["status"] == "failed" or time.monotonic() > deadline:
            assert shown["status"] == "failed", shown
            return dict(shown)
        time.sleep(0.1)
