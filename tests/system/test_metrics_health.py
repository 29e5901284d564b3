"""``/metrics`` and ``/healthz`` of a real daemon after a scenario that exercises every
docs/operations.md metric: parsed with prometheus_client's parsers, values checked against what
the scenario did (fires, retries, an open breaker, refusals by reason, skips)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families
from support.contract import CONTRACT_METRICS
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until

pytestmark = pytest.mark.slow
SETTINGS = {
    "GNOMON_BREAKER_THRESHOLD": "2",
    "GNOMON_BREAKER_COOLDOWN": "3600",
    "GNOMON_LIMITS_OWNER_RPS": "0.001",
    "GNOMON_LIMITS_OWNER_BURST": "12",
    "GNOMON_LIMITS_MIN_INTERVAL": "100ms",  # a 200 ms poll
}
FLAKY_RETRY = ("--max-retries", "1", "--backoff", "100ms", "--backoff-jitter", "0")
REASONS = (
    "agents_disabled",
    "action_disallowed",
    "rate_limited",
    "invalid",
    "policy",
    "full",
    "duplicate_name",
    "quota",
    "store",
)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(daemon: RealDaemon) -> tuple[str, Samples]:
    text = httpx.get(daemon.http + "/metrics").text
    return text, samples(text)


def show(home: Path, ref: str) -> dict[str, Any]:
    result = gnomon(home, "jobs", "show", ref, "--json")
    assert result.code == 0, result.err
    shown: dict[str, Any] = result.json()
    return shown


def outcomes(home: Path, ref: str) -> list[str]:
    """The outcome of every run of ``ref`` (``jobs logs`` pages through all of them; a
    busy machine fires the every-second job more often than ``jobs show``'s last 10)."""
    lines = _ok(home, "jobs", "logs", ref, "--json").out.splitlines()
    return [json.loads(line)["outcome"] for line in lines if line.strip()]


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RealDaemon, dict[str, Any]]]:
    """A daemon that ran: 3 successful fires, a failing job whose retry opens its breaker,
    a satisfied wait, a duplicate name, a policy refusal, and rate-limited creates."""
    home = tmp_path_factory.mktemp("metrics") / "home"
    daemon = RealDaemon.start(home, env=cli_env(home, **SETTINGS))
    try:
        yield daemon, _run_scenario(home)
    finally:
        daemon.stop()


def _ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def _run_scenario(home: Path) -> dict[str, Any]:
    _ok(home, "schedule", "tick", "--do", "shell: echo tick", "--every", "1s", "--tag", "t=1")
    _ok(home, "schedule", "flaky", "--do", "shell: exit 3", "--every", "2s", *FLAKY_RETRY)
    gate = home / "gate"
    _ok(home, "schedule", "gated", "--do", "noop", "--wait", f"file:{gate}", "--poll", "200ms")
    duplicate = gnomon(home, "schedule", "tick", "--do", "noop", "--every", "1h")
    denied = gnomon(home, "schedule", "wipe", "--do", "shell: rm -rf /", "--every", "1h")
    until(lambda: len(show(home, "tick")["runs"]) >= 3, "three fires of tick")
    until(lambda: show(home, "flaky")["last_outcome"] == "breaker_open", "a fire hit the breaker")
    _ok(home, "jobs", "pause", "tick", "flaky")
    gate.write_text("open\n")
    until(lambda: show(home, "gated")["status"] == "completed", "the wait was satisfied")
    limited = []
    for i in range(20):
        result = gnomon(home, "schedule", f"flood-{i}", "--do", "noop", "--in", "1h")
        if result.code == 4:
            limited.append(result)
            if len(limited) == 2:
                break
    return {"duplicate": duplicate, "denied": denied, "limited": limited}


def test_every_contract_metric_is_exposed(scenario: tuple[RealDaemon, dict[str, Any]]) -> None:
    """Every §8 metric is in the text exposition, and every one the scenario touched has
    samples (no actor crashed, so actor restarts has none)."""
    daemon, _ = scenario
    text, found = scrape(daemon)
    names = {name for name, _ in found}
    for metric in CONTRACT_METRICS:
        assert f"# TYPE {metric.removesuffix('_total')}" in text, metric
        if metric != "gnomon_actor_restarts_total":
            assert any(n == metric or n.startswith(metric + "_") for n in names), metric


def test_values_match_the_scenario(scenario: tuple[RealDaemon, dict[str, Any]]) -> None:
    """Fired counts, the open breaker, retries, skips, refusals by reason and job counts
    are what the scenario did."""
    daemon, did = scenario
    _, found = scrape(daemon)
    tick, flaky = outcomes(daemon.home, "tick"), outcomes(daemon.home, "flaky")
    fired = "gnomon_jobs_fired_total"
    assert value(found, fired, action_type="shell", outcome="success") == tick.count("success")
    assert value(found, fired, action_type="shell", outcome="failed") == 2
    assert value(found, fired, action_type="shell", outcome="breaker_open") == flaky.count(
        "breaker_open"
    )
    assert value(found, fired, action_type="noop", outcome="success") == 1
    assert value(found, "gnomon_breaker_state", key="shell:exit 3") == 1
    assert value(found, "gnomon_retries_total", action_type="shell") == 1
    assert value(found, "gnomon_skips_total", reason="breaker_open") == flaky.count("breaker_open")
    errors = {r: value(found, "gnomon_enqueue_errors_total", reason=r) for r in REASONS}
    assert errors == {
        **dict.fromkeys(REASONS, 0.0),
        "duplicate_name": 1,
        "policy": 1,
        "rate_limited": len(did["limited"]),
    }
    assert did["duplicate"].code == 2
    assert did["denied"].code == 4
    assert value(found, "gnomon_active_jobs", status="paused") == 2


def test_counts_agree_with_the_event_log(scenario: tuple[RealDaemon, dict[str, Any]]) -> None:
    """Created jobs, fires, lag observations and wait checks agree with the events."""
    daemon, _ = scenario
    _, found = scrape(daemon)
    events = [json.loads(line) for line in _ok(daemon.home, "events", "--json").out.splitlines()]
    by_type = {t: sum(1 for e in events if e["type"] == t) for t in {e["type"] for e in events}}
    created = sum(v for (n, _), v in found.items() if n == "gnomon_jobs_created_total")
    assert created == by_type["job.created"]
    assert value(found, "gnomon_events_total", type="job.fired") == by_type["job.fired"]
    assert value(found, "gnomon_fire_lag_seconds_count") == by_type["job.fired"]
    ticks = sum(v for (n, _), v in found.items() if n == "gnomon_wait_checks_total")
    assert ticks == by_type.get("job.wait_tick", 0) > 0
    assert value(found, "gnomon_wait_duration_seconds_count", condition_type="file") == 1
    assert value(found, "gnomon_store_commit_seconds_count") > 0


def test_label_values_are_bounded(scenario: tuple[RealDaemon, dict[str, Any]]) -> None:
    """No job id or job name appears as a label value, except job names in the bounded
    per-job series (gnomon_job_*{job_name}), which never carry an id."""
    daemon, _ = scenario
    _, found = scrape(daemon)
    jobs = _ok(daemon.home, "jobs", "list", "--all", "--json").json()
    forbidden = {j["id"] for j in jobs} | {j["name"] for j in jobs}
    values = {v for name, labels in found if not name.startswith("gnomon_job_") for _, v in labels}
    assert not values & forbidden
    per_job = {v for name, labels in found if name.startswith("gnomon_job_") for _, v in labels}
    assert per_job & {j["name"] for j in jobs}
    assert not per_job & {j["id"] for j in jobs}


def test_openmetrics_by_accept(scenario: tuple[RealDaemon, dict[str, Any]]) -> None:
    """Accept: application/openmetrics-text gets OpenMetrics (ending in # EOF) that the
    OpenMetrics parser reads, with the same metrics."""
    daemon, _ = scenario
    answer = httpx.get(
        daemon.http + "/metrics",
        headers={"accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"},
    )
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")
    families = {f.name for f in om_parse(answer.text)}
    assert {m.removesuffix("_total") for m in CONTRACT_METRICS} <= families


def test_healthz_reports_store_tree_and_fire_lag(
    scenario: tuple[RealDaemon, dict[str, Any]],
) -> None:
    """/healthz is 200 JSON: store writable, tree healthy, the last fire's lag in seconds."""
    daemon, _ = scenario
    answer = httpx.get(daemon.http + "/healthz")
    assert answer.status_code == 200
    report = answer.json()
    assert report["ok"] is report["store_writable"] is report["tree_healthy"] is True
    assert 0 <= report["last_fire_lag"] < 5
    assert report["jobs"]["paused"] == 2
