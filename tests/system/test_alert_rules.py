"""The alert rules of docs/operations.md, run by promtool against a real daemon's scrape.

A real daemon runs three daily jobs once; then, with the daemon stopped, the runs of one
of them are moved 26 h into the past in its SQLite file (the store is the source of the
per-job metrics at start). After a restart, /metrics is scraped and every ``gnomon_job_*``
sample becomes a constant promtool input series — timestamps shifted so that promtool's
clock (which starts at 0) reads the scrape's wall time at ``eval_time`` — and
``promtool test rules`` checks that ``JobNotSucceededRecently`` fires for the stale job
only and ``JobLastRunFailed`` for the failing one only.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.daemon_proc import RealDaemon, gnomon, until

pytestmark = pytest.mark.slow

DOC = Path(__file__).parents[2] / "docs" / "operations.md"
PROMTOOL = shutil.which("promtool")
AGE = 26 * 3600
EVAL = 7200  # promtool seconds at which the scrape's wall time is reached
LABELS = {"job": "gnomon", "instance": "gnomon@test"}


def rules_from_docs() -> str:
    """The first ```yaml block after the 'Alert rules' heading of docs/operations.md."""
    text = DOC.read_text()
    after = text[text.index("### Alert rules") :]
    match = re.search(r"```yaml\n(.*?)```", after, re.S)
    assert match is not None, "no yaml block under ### Alert rules"
    return match.group(1)


def age_runs(db: Path, job_name: str, seconds: float) -> None:
    """Move every run of ``job_name`` ``seconds`` into the past (columns and record)."""
    with sqlite3.connect(db) as conn:
        (job_id,) = conn.execute("SELECT id FROM jobs WHERE name=?", (job_name,)).fetchone()
        rows = conn.execute("SELECT run_id, record FROM runs WHERE job_id=?", (job_id,))
        for run_id, text in rows.fetchall():
            record = json.loads(text)
            for key in ("started_at", "finished_at"):
                record[key] = _shift_iso(record[key], -seconds)
            conn.execute(
                "UPDATE runs SET started_ts=started_ts-?, finished_ts=finished_ts-?, record=?"
                " WHERE run_id=?",
                (seconds, seconds, json.dumps(record), run_id),
            )


def _shift_iso(iso: str, seconds: float) -> str:
    return (datetime.fromisoformat(iso) + timedelta(seconds=seconds)).isoformat()


def scrape(daemon: RealDaemon) -> tuple[float, list[tuple[str, dict[str, str], float]]]:
    """The wall time of the scrape and its gnomon_job_* samples."""
    at = time.time()
    with urllib.request.urlopen(f"{daemon.http}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples = [
        (s.name, dict(s.labels), s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name.startswith("gnomon_job_")
    ]
    return at, samples


def promtool_test(samples: list[tuple[str, dict[str, str], float]], wall: float) -> dict[str, Any]:
    """A promtool unit test whose clock reads ``wall`` at ``EVAL`` seconds."""
    base = wall - EVAL
    series = []
    for name, labels, value in samples:
        shown = value - base if name.endswith("_timestamp_seconds") else value
        sel = ",".join(f'{k}="{v}"' for k, v in sorted({**labels, **LABELS}.items()))
        series.append({"series": f"{name}{{{sel}}}", "values": f"{shown:.3f}+0x{EVAL // 60 + 10}"})

    stale = {
        "exp_labels": {**LABELS, "job_name": "backup-old", "severity": "page"},
        "exp_annotations": {
            "summary": "backup-old has not succeeded for more than 25 h",
            "description": "see `gnomon jobs show backup-old` and `gnomon jobs logs`",
        },
    }
    failed = {
        "exp_labels": {
            **LABELS,
            "job_name": "backup-broken",
            "severity": "ticket",
            "outcome": "failed",
        },
        "exp_annotations": {"summary": "the last run of backup-broken ended failed"},
    }
    return {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": f"{EVAL // 60}m",
                        "alertname": "JobNotSucceededRecently",
                        "exp_alerts": [stale],
                    },
                    {
                        "eval_time": f"{EVAL // 60}m",
                        "alertname": "JobLastRunFailed",
                        "exp_alerts": [failed],
                    },
                ],
            }
        ],
    }


def run_jobs(daemon: RealDaemon) -> None:
    """Three daily jobs, each run once: two succeed, one fails."""
    home = daemon.home
    for name, action in (
        ("backup-old", "noop"),
        ("backup-new", "noop"),
        ("backup-broken", "shell: exit 3"),
    ):
        made = gnomon(home, "schedule", name, "--every", "1d", "--do", action, "--max-retries", "0")
        assert made.code == 0, made.err
        assert gnomon(home, "jobs", "run", name).code == 0

    def outcomes() -> bool:
        names = ("backup-old", "backup-new", "backup-broken")
        shown = [gnomon(home, "jobs", "show", n, "--json").json() for n in names]
        return [j["last_outcome"] for j in shown] == ["success", "success", "failed"]

    until(outcomes, "the three jobs ran once")


@pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing (Debian package prometheus; .ci/run installs it)"
)
def test_rules_fire_for_a_stale_job_and_stay_silent_for_a_fresh_one(tmp_path: Path) -> None:
    """JobNotSucceededRecently fires for backup-old (last success 26 h ago, restored from
    the store), not for backup-new; JobLastRunFailed fires for backup-broken only; a
    cleared job's series go."""
    home = tmp_path / "home"
    first = RealDaemon.start(home)
    try:
        run_jobs(first)
    finally:
        assert first.stop() == 0
    age_runs(home / "gnomon.db", "backup-old", AGE)
    second = RealDaemon.start(home)
    try:
        wall, samples = scrape(second)
        assert gnomon(home, "jobs", "cancel", "backup-broken").code == 0
        assert gnomon(home, "jobs", "clear", "--yes").code == 0
        cleared = {labels["job_name"] for _, labels, _ in scrape(second)[1]}
        assert cleared == {"backup-old", "backup-new"}  # a cleared job's series go
    finally:
        assert second.stop() == 0
    success = {
        labels["job_name"]: value
        for name, labels, value in samples
        if name == "gnomon_job_last_success_timestamp_seconds"
    }
    assert set(success) == {"backup-old", "backup-new"}
    assert wall - success["backup-old"] > AGE
    rules = tmp_path / "rules.yml"
    rules.write_text(rules_from_docs())
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    spec = tmp_path / "test.yml"
    spec.write_text(json.dumps(promtool_test(samples, wall), indent=1))  # JSON is YAML
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(spec)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
