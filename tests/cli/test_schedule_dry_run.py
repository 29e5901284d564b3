"""`gnomon schedule … --dry-run`: validation and previews with no daemon."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def gnomon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gnomon.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "TZ": "UTC", "GNOMON_AUTOSTART": "0"},
    )


def test_fall_back_day_listed_once() -> None:
    """The issue's example lists 2027-11-07 01:30 (a fall-back day) exactly once."""
    done = gnomon(
        "schedule",
        "nightly",
        "--cron",
        "30 1 * * *",
        "--tz",
        "America/New_York",
        "--do",
        "noop",
        "--dry-run",
        "--from",
        "2027-11-05T12:00-04:00",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    local = [f["local"] for f in out["next_fires"]]
    assert [t for t in local if t.startswith("2027-11-07")] == ["2027-11-07T01:30:00-04:00"]
    assert len(local) == 5
    assert out["job"]["schedule"] == {
        "type": "cron",
        "expr": "30 1 * * *",
        "tz": "America/New_York",
        "dst_gap": "shift",
        "dst_fold": "first",
        "jitter": 0.0,
    }


def test_human_output_and_durations_in_days() -> None:
    """`--when "in 7d"` and `--ttl 7d` parse; the human view shows the parsed job."""
    done = gnomon(
        "schedule",
        "later",
        "--when",
        "in 7d",
        "--ttl",
        "7d",
        "--do",
        "shell: ./backup.sh",
        "--tag",
        "env=prod",
        "--dry-run",
    )
    assert done.returncode == 0, done.stderr
    assert "do     : shell: ./backup.sh" in done.stdout
    assert "tags   : env=prod" in done.stdout
    assert "next 1 fire(s)" in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--when", "every"], "accepted forms"),
        (["--cron", "61 * * * *"], "minute field"),
        (["--timeout", "5 minutes"], "--timeout: bad duration"),
        (["--every", "5m", "--cron", "@hourly"], "--cron and --every"),
        (["--overlap", "sometimes"], "--overlap: unknown value"),
        (["--tz", "Mars/Base"], "unknown time zone"),
    ],
)
def test_bad_input_exits_2_naming_it(args: list[str], says: str) -> None:
    """Every bad flag value exits 2 with `error:` naming it (nothing silently ignored)."""
    done = gnomon("schedule", "x", "--do", "noop", *args, "--dry-run")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
    assert says in done.stderr


def test_missing_action_and_unknown_flag() -> None:
    """No --do is refused with the forms; an unknown flag is a usage error (exit 2)."""
    done = gnomon("schedule", "x", "--dry-run")
    assert done.returncode == 2
    assert "--do is required" in done.stderr
    done = gnomon("schedule", "x", "--do", "noop", "--frobnicate", "--dry-run")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: No such option '--frobnicate'.",
        "hint: gnomon schedule --help lists the options",
    ]
