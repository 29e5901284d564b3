"""The per-job series of /metrics: which jobs get them (bounded), what they show, and
that they follow run ends, state saves and deletions — through the real exposition."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.job_metrics import JobSeries
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import JobStatus, Outcome, OwnerKind
from gnomon.runtime.model.events import Event, EventType
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store import sql
from gnomon.runtime.store.sql_metrics import catalog, history

T = datetime(2026, 11, 1, tzinfo=UTC)


def state(name: str, *, tags: dict[str, str] | None = None, **kw: object) -> JobState:
    spec = JobSpec(
        name=name,
        schedule=IntervalSchedule(every=3600.0, anchor=T),
        action=NoopAction(),
        tags=tags or {},
    )
    base = JobState(
        id=f"id-{name}",
        spec=spec,
        owner=Owner(kind=OwnerKind.USER, id="a"),
        created_at=T,
        updated_at=T,
        next_fire_at=T + timedelta(hours=1),
    )
    return attrs.evolve(base, **kw)  # type: ignore[arg-type]


def run_end(name: str, outcome: Outcome, at: datetime, duration: float = 2.5) -> Event:
    return Event(
        seq=1,
        type=EventType.JOB_COMPLETED if outcome is Outcome.SUCCESS else EventType.JOB_FAILED,
        timestamp=at,
        job_id=f"id-{name}",
        name=name,
        outcome=outcome,
        payload={"run_id": f"id-{name}.1.1", "duration": duration, "action_type": "noop"},
    )


def job_samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(m.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("gnomon_job_")
    }


def names(m: Metrics, metric: str = "gnomon_job_created_timestamp_seconds") -> set[str]:
    return {dict(labels)["job_name"] for name, labels in job_samples(m) if name == metric}


def test_series_show_success_outcome_duration_next_fire() -> None:
    """A job's series: last success time, last outcome (one series, 1), duration, next
    fire and creation, labelled job_name."""
    m = Metrics()
    m.job_series.note_state(state("nightly"))
    m.observe_event(run_end("nightly", Outcome.SUCCESS, T + timedelta(minutes=1), 4.0))
    m.observe_event(run_end("nightly", Outcome.FAILED, T + timedelta(minutes=2), 1.5))
    got = job_samples(m)
    job = (("job_name", "nightly"),)
    assert got["gnomon_job_last_success_timestamp_seconds", job] == (T.timestamp() + 60)
    assert got["gnomon_job_last_duration_seconds", job] == 1.5
    assert got["gnomon_job_next_fire_timestamp_seconds", job] == T.timestamp() + 3600
    assert got["gnomon_job_created_timestamp_seconds", job] == T.timestamp()
    outcomes = {k: v for k, v in got.items() if k[0] == "gnomon_job_last_outcome"}
    assert outcomes == {("gnomon_job_last_outcome", (*job, ("outcome", "failed"))): 1.0}


def test_paused_blocked_and_ended_jobs_have_no_next_fire() -> None:
    """No next-fire series while a fire will not happen as scheduled."""
    m = Metrics()
    for name, status in (
        ("p", JobStatus.PAUSED),
        ("b", JobStatus.BLOCKED),
        ("c", JobStatus.CANCELLED),
    ):
        m.job_series.note_state(state(name, status=status))
    m.job_series.note_state(state("live"))
    assert names(m, "gnomon_job_next_fire_timestamp_seconds") == {"live"}
    assert names(m) == {"p", "b", "c", "live"}


def test_cardinality_is_bounded_tag_opts_in_and_out() -> None:
    """Only per_job_max untagged jobs get series (first seen), plus every job tagged on;
    tagged off never, which frees a place; the help text says so."""
    m = Metrics(per_job_max=2, per_job_tag="alert=yes")
    for i in range(4):
        m.job_series.note_state(state(f"j{i}"))
    m.job_series.note_state(state("late", tags={"alert": "yes"}))
    m.job_series.note_state(state("quiet", tags={"alert": "off"}))
    assert names(m) == {"j0", "j1", "late"}
    m.job_series.note_state(state("j0", tags={"alert": "off"}))
    assert names(m) == {"j1", "late"}
    m.job_series.note_state(state("j3"))  # the freed place goes to the next job that changes
    m.job_series.note_state(state("j2"))
    assert names(m) == {"j1", "j3", "late"}
    text = generate_latest(m.registry).decode()
    assert "up to 2 untagged jobs, the first seen (metrics.per_job_max), and every job" in text
    assert "tagged alert=yes (metrics.per_job_tag); alert=off opts out" in text


def test_forgotten_jobs_lose_their_series_and_free_their_place() -> None:
    """Clearing or expiring a job removes its series; the next job seen takes its place."""
    m = Metrics(per_job_max=1)
    m.job_series.note_state(state("a"))
    m.job_series.note_state(state("b"))
    assert names(m) == {"a"}
    m.job_series.forget("id-a")
    assert names(m) == set()
    m.job_series.note_state(state("b"))
    assert names(m) == {"b"}


def test_a_save_after_the_clear_does_not_bring_the_series_back() -> None:
    """A finished job's last state, saved after its clear, admits no series; a live job's
    does (its place is free again)."""
    m = Metrics(per_job_max=2)
    m.job_series.note_state(state("a"))
    m.job_series.forget("id-a")
    m.job_series.note_state(state("a", status=JobStatus.CANCELLED))
    assert names(m) == set()
    m.job_series.note_state(state("b", status=JobStatus.PENDING))
    assert names(m) == {"b"}


@pytest.mark.parametrize("bad", ["metrics", "=on", "metrics=", "metrics=off"])
def test_a_bad_tag_setting_is_refused(bad: str) -> None:
    """metrics.per_job_tag must be KEY=VALUE (VALUE not off), named in the error."""
    with pytest.raises(InvalidInput, match=r"config metrics\.per_job_tag: bad value"):
        JobSeries(tag=bad)


def test_restore_reads_only_the_chosen_jobs(tmp_path: Path) -> None:
    """At start the catalog yields the first per_job_max untagged jobs (oldest first) and
    every tagged one, from a real SQLite store; their history comes back too."""
    db = sqlite3.connect(tmp_path / "g.db", isolation_level=None)
    sql.migrate(db)
    rows = [(f"id-{i}", f"j{i}", '{"metrics": "on"}' if i == 7 else "{}") for i in range(10)] + [
        ("id-off", "joff", '{"metrics": "off"}')
    ]
    for job_id, name, tags in rows:
        db.execute(
            "INSERT INTO jobs (id, name, status, owner, updated_ts, tags, depends_on, state)"
            " VALUES (?, ?, 'pending', 'user:a', 0, ?, '[]', ?)",
            (job_id, name, tags, json.dumps({"created_at": T.isoformat(), "next_fire_at": None})),
        )
    series = JobSeries(max_jobs=3)
    chosen = series.load_catalog(catalog(db, "metrics", series.classify, 3))
    assert chosen == ["id-0", "id-1", "id-2", "id-7"]
    series.load_history(history(db, chosen))
    assert {s.name: s.created for s in series.chosen()}["j7"] == T.timestamp()
