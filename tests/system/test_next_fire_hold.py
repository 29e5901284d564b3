"""Truthful next fires against a real daemon: the create line, `jobs`, `jobs show` and the
job JSON say what holds a fire (blocked, paused, waiting), and `--depends-on` a recurring
job is refused at admission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.daemon_proc import RealDaemon, Result, gnomon

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    running = RealDaemon.start(tmp_path_factory.mktemp("hold") / "home")
    yield running
    assert running.stop() == 0


def ok(d: RealDaemon, *args: str) -> Result:
    result = gnomon(d.home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def row(listing: str, name: str) -> str:
    """The `jobs` line of job ``name``."""
    return next(line for line in listing.splitlines() if name in line.split()[1:2])


def job(d: RealDaemon, name: str) -> dict[str, Any]:
    value: dict[str, Any] = ok(d, "jobs", "show", name, "--json").json()
    return value


def test_blocked_paused_and_waiting_jobs_say_so(daemon: RealDaemon) -> None:
    """Instead of a time they will miss, held jobs show `— blocked by X`, `— paused` and
    `— waiting for COND` in schedule's line, `jobs`, `jobs show` and `hold`."""
    ok(daemon, "schedule", "h-build", "--in", "1h", "--do", "noop")
    blocked = ok(daemon, "schedule", "h-deploy", "--depends-on", "h-build", "--do", "noop")
    assert blocked.out.strip().endswith("created (h-deploy) — blocked by h-build")
    ok(daemon, "schedule", "h-tick", "--every", "10s", "--do", "noop")
    ok(daemon, "jobs", "pause", "h-tick")
    waits = ok(daemon, "schedule", "h-db", "--wait", "tcp://127.0.0.1:1", "--do", "noop")
    assert ", then waits for tcp://127.0.0.1:1" in waits.out
    listing = ok(daemon, "jobs").out
    assert "— blocked by h-build" in row(listing, "h-deploy")
    assert "— paused" in row(listing, "h-tick")
    assert "in 59m" in row(listing, "h-build")
    assert [job(daemon, n)["hold"] for n in ("h-build", "h-deploy", "h-tick")] == [
        None,
        "blocked by h-build",
        "paused",
    ]
    show = ok(daemon, "jobs", "show", "h-tick").out
    assert "next fire       — paused" in show
    assert "next fires (on schedule; now paused)" in show
    ok(daemon, "jobs", "cancel", "h-build", "h-deploy", "h-tick", "h-db")


def test_depends_on_a_recurring_job_is_refused(daemon: RealDaemon) -> None:
    """Exit 2 naming the recurring job, and the two alternatives; nothing is created."""
    ok(daemon, "schedule", "h-nightly", "--every", "1h", "--do", "noop")
    refused = gnomon(
        daemon.home, "schedule", "h-report", "--depends-on", "h-nightly", "--do", "noop"
    )
    assert refused.code == 2
    assert refused.err.startswith(
        "error: depends_on: h-nightly is a recurring job (every 1h) and never ends, "
        "so h-report would stay blocked forever"
    )
    assert "--triggers h-report on h-nightly instead" in refused.err
    assert "hint: to run h-report after each fire of h-nightly" in refused.err
    assert gnomon(daemon.home, "jobs", "show", "h-report").code == 3
    ok(daemon, "jobs", "cancel", "h-nightly")
