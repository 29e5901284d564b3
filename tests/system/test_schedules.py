"""Calendar schedules, exclusion calendars and backfill against a real daemon: a daily job
backfilled over 10 days runs 10 times, each slot claimed once, and the same backfill
again runs nothing; calendars persist and mark --dry-run's excluded slots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.daemon_proc import RealDaemon, Result, gnomon

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    running = RealDaemon.start(tmp_path_factory.mktemp("schedules") / "home")
    yield running
    assert running.stop() == 0


def ok(d: RealDaemon, *args: str) -> Result:
    result = gnomon(d.home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def test_backfill_a_daily_job_over_ten_days(daemon: RealDaemon) -> None:
    ok(daemon, "schedule", "nightly", "--calendar", "*-*-* 03:00", "--tz", "UTC", "--do", "noop")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=10), today - timedelta(seconds=1)
    args = ["jobs", "backfill", "nightly", "--from", start.isoformat(), "--to", end.isoformat()]
    first = ok(daemon, *args, "--max-parallel", "3")
    assert "10 slot(s) in range, 10 to fire, 0 already claimed or excluded" in first.out
    assert "[10/10]" in first.out
    assert first.out.strip().endswith("✔ 10 slot(s) fired")
    fired = ok(daemon, *args, "--json").json()["slots"]
    assert [s["status"] for s in fired] == ["claimed"] * 10
    assert [s["slot"][:10] for s in fired] == [
        (start + timedelta(days=n)).date().isoformat() for n in range(10)
    ]
    runs = ok(daemon, "jobs", "show", "nightly", "--json").json()["runs"]
    assert sorted(r["fire_time"] for r in runs) == sorted(s["slot"] for s in fired)
    again = ok(daemon, *args)
    assert "0 to fire, 10 already claimed or excluded" in again.out
    assert again.out.strip().endswith("✔ 0 slot(s) fired")


def test_calendars_persist_and_mark_dry_run(daemon: RealDaemon) -> None:
    added = ok(
        daemon,
        "calendar",
        "add",
        "holidays",
        "--date",
        "2030-01-01",
        "--tz",
        "UTC",
        "--window",
        "Sat 00:00..Mon 00:00",
    )
    assert "✔ calendar holidays saved (1 date(s), 1 window(s), in UTC)" in added.out
    listing = ok(daemon, "calendar", "list").out
    assert "holidays  (UTC)" in listing
    assert "window  Sat 00:00..Mon 00:00" in listing
    dup = gnomon(daemon.home, "calendar", "add", "holidays", "--date", "2030-01-02")
    assert dup.code != 0
    assert "--replace" in dup.err
    dry = ok(
        daemon,
        "schedule",
        "newyear",
        "--when",
        "every day at 09:00",
        "--tz",
        "UTC",
        "--exclude",
        "holidays",
        "--do",
        "noop",
        "--dry-run",
        "--from",
        "2029-12-30",
        "--count",
        "4",
    ).out
    lines = [line for line in dry.splitlines() if line.startswith("  20")]
    assert ["excluded: holidays" in line for line in lines] == [True, False, True, False]
    bad = gnomon(daemon.home, "calendar", "add", "x", "--window", "Fri 18:00-Mon 06:00")
    assert bad.code == 2
    assert "'DAY HH:MM..DAY HH:MM'" in bad.err
    ok(daemon, "calendar", "rm", "holidays")
    assert "no calendars" in ok(daemon, "calendar", "list").out
