"""Metrics derived from events, checked through the Prometheus text exposition."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from support.contract import CONTRACT_METRICS

from gnomon.runtime.metrics import MAX_BREAKER_KEYS, Metrics
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.events import Event, EventType

T = datetime(2026, 11, 1, tzinfo=UTC)


def event(type_: EventType, outcome: Outcome | None = None, **payload: object) -> Event:
    return Event(
        seq=1, type=type_, timestamp=T, owner="agent:bot", outcome=outcome, payload=dict(payload)
    )


def samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(m.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_contract_metric_is_exposed() -> None:
    """All docs/operations.md metric names appear in the exposition."""
    m = Metrics(mailbox_depths=lambda: [("job", 3), ("job", 2), ("store", 1)])
    m.active_jobs.labels("pending").set(1)
    m.breaker_state.labels("x").set(0)
    text = generate_latest(m.registry).decode()
    for name in CONTRACT_METRICS:
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    s = samples(m)
    assert s[("gnomon_mailbox_depth", (("kind", "job"),))] == 5
    assert s[("gnomon_enqueue_errors_total", (("reason", "rate_limited"),))] == 0


def test_events_drive_counters_and_histograms() -> None:
    """Creation, fires, run ends, ticks, retries, skips and breakers update their metrics."""
    m = Metrics()
    m.observe_event(event(EventType.JOB_CREATED, action_type="shell"))
    m.observe_event(event(EventType.JOB_FIRED, lag=0.003))
    m.observe_event(
        event(
            EventType.JOB_COMPLETED,
            Outcome.SUCCESS,
            run_id="r",
            attempt=1,
            action_type="shell",
            duration=1.5,
        )
    )
    m.observe_event(event(EventType.JOB_WAIT_TICK, condition_type="http", result="false"))
    m.observe_event(event(EventType.JOB_RETRY_QUEUED, action_type="shell"))
    m.observe_event(event(EventType.JOB_SKIPPED, reason="overlap"))
    m.observe_event(event(EventType.BREAKER_OPENED, key="api:443", to="open"))
    s = samples(m)
    assert (
        s[("gnomon_jobs_created_total", (("action_type", "shell"), ("owner_kind", "agent")))] == 1
    )
    assert s[("gnomon_jobs_fired_total", (("action_type", "shell"), ("outcome", "success")))] == 1
    assert s[("gnomon_fire_lag_seconds_count", ())] == 1
    assert (
        s[
            (
                "gnomon_action_duration_seconds_sum",
                (("action_type", "shell"), ("outcome", "success")),
            )
        ]
        == 1.5
    )
    assert s[("gnomon_wait_checks_total", (("condition_type", "http"), ("result", "false")))] == 1
    assert s[("gnomon_retries_total", (("action_type", "shell"),))] == 1
    assert s[("gnomon_skips_total", (("reason", "overlap"),))] == 1
    assert s[("gnomon_breaker_state", (("key", "api:443"),))] == 1
    assert s[("gnomon_events_total", (("type", "job.created"),))] == 1


def test_breaker_key_labels_are_capped() -> None:
    """Past the cap, new breaker keys share the label `other`."""
    m = Metrics()
    for i in range(MAX_BREAKER_KEYS + 5):
        m.observe_event(event(EventType.BREAKER_OPENED, key=f"k{i}", to="open"))
    keys = {labels for (name, labels) in samples(m) if name == "gnomon_breaker_state"}
    assert len(keys) == MAX_BREAKER_KEYS + 1
    assert (("key", "other"),) in keys
