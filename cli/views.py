"""Human views of the daemon's answers: job tables, a job's page, runs, events.

Everything here takes the JSON the daemon sent (CONTRACT §3.6 keys) and renders it with
rich; colour appears only on a terminal (rich checks, and honours ``NO_COLOR``). Times
are shown in the local zone, with a relative hint ("in 5h12m", "3m ago").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from gnomon.runtime.model.durations import format_duration

STATUS_STYLE = {
    "pending": "cyan",
    "blocked": "magenta",
    "waiting": "yellow",
    "running": "bold blue",
    "paused": "dim",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "dim red",
    "timed_out": "red",
    "skipped": "dim",
}
OUTCOME_STYLE = {
    "success": "green",
    "failed": "red",
    "timeout": "red",
    "cancelled": "dim red",
    "breaker_open": "magenta",
    "skipped": "dim",
    "interrupted": "yellow",
}
ID_WIDTH = 8


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the wire, or ``None``."""
    return None if not value else datetime.fromisoformat(value)


def relative(when: datetime, now: datetime) -> str:
    """``in 5h12m`` / ``3m ago`` / ``now`` (whole seconds)."""
    delta = (when - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    text = short_duration(abs(delta))
    return f"in {text}" if delta > 0 else f"{text} ago"


def short_duration(seconds: float) -> str:
    """The two largest units of a duration (``5h12m``, ``3d4h``, ``42s``)."""
    text = format_duration(float(int(seconds)) or 1.0)
    parts = re.findall(r"\d+[a-z]+", text)
    return "".join(parts[:2])


def local_time(value: str | None, now: datetime | None = None, *, rel: bool = True) -> str:
    """A wire timestamp in the local zone (``2026-11-25 14:00:00 CET (in 5h)``)."""
    when = parse_iso(value)
    if when is None:
        return "—"
    text = when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    if not rel:
        return text
    return f"{text} ({relative(when, now or datetime.now(UTC))})"


def short_time(value: str | None, now: datetime) -> str:
    """A compact local time for tables: ``11-25 14:00:00 (in 5h12m)``."""
    when = parse_iso(value)
    if when is None:
        return "—"
    return f"{when.astimezone().strftime('%m-%d %H:%M:%S')} ({relative(when, now)})"


def next_fire_text(job: Mapping[str, Any], now: datetime, *, short: bool = True) -> str:
    """The next fire as it will happen: its time, or ``— blocked by X`` / ``— paused`` /
    ``— waiting for COND`` when something holds it (the daemon's ``hold``)."""
    if job.get("hold"):
        return f"— {job['hold']}"
    value = job.get("next_fire_at")
    return short_time(value, now) if short else local_time(value, now)


def styled(value: str | None, styles: Mapping[str, str]) -> Text:
    """``value`` in its style (``—`` when absent)."""
    if not value:
        return Text("—", style="dim")
    return Text(value, style=styles.get(value, ""))


def tags_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" if v else k for k, v in sorted(tags.items()))


def jobs_table(jobs: Iterable[Mapping[str, Any]], now: datetime | None = None) -> Table:
    """The ``jobs list`` table: one row per job, in the daemon's order."""
    now = now or datetime.now(UTC)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "NAME", "STATUS", "NEXT FIRE", "LAST"):
        table.add_column(column, no_wrap=True)
    for column in ("SCHEDULE", "TAGS"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(
            job["id"][:ID_WIDTH],
            job["name"],
            styled(job["status"], STATUS_STYLE),
            next_fire_text(job, now),
            styled(job.get("last_outcome"), OUTCOME_STYLE),
            job["schedule"],
            tags_text(job.get("tags") or {}),
        )
    return table


def job_rows(job: Mapping[str, Any], now: datetime | None = None) -> list[tuple[str, Any]]:
    """Label/value rows of one job's page (``jobs show``)."""
    rows: list[tuple[str, Any]] = [
        ("id", job["id"]),
        ("name", job["name"]),
        ("status", styled(job["status"], STATUS_STYLE)),
    ]
    if job.get("reason"):
        rows.append(("why", job["reason"]))
    if job.get("message"):
        rows.append(("message", job["message"]))
    rows += [
        ("schedule", job["schedule"]),
        ("do", job["action"]),
    ]
    if job.get("wait"):
        rows.append(("wait", job["wait"]))
    if job.get("depends_on"):
        rows.append(("depends on", ", ".join(job["depends_on"])))
    if job.get("triggers"):
        rows.append(("triggers", ", ".join(job["triggers"])))
    rows += [
        ("next fire", next_fire_text(job, now or datetime.now(UTC), short=False)),
        ("last outcome", styled(job.get("last_outcome"), OUTCOME_STYLE)),
        ("cycle/attempts", f"{job['cycle']} / {job['attempts']}"),
        ("owner", job["owner"]),
        ("created by", created_by_text(job.get("created_by") or {})),
        ("created", local_time(job.get("created_at"), now)),
    ]
    if job.get("tags"):
        rows.append(("tags", tags_text(job["tags"])))
    if job.get("description"):
        rows.append(("description", job["description"]))
    return rows


def created_by_text(by: Mapping[str, Any]) -> str:
    """Provenance in one line: ``token agent-1 via gnomon-mcp 0.1.0, from job J run R``."""
    text = f"token {by.get('token_id') or '?'}"
    if by.get("client"):
        text += f" via {by['client']}" + (
            f" {by['client_version']}" if by.get("client_version") else ""
        )
    if by.get("parent_job"):
        text += f", from job {by['parent_job']}"
        if by.get("parent_run"):
            text += f" run {by['parent_run']}"
    return text


def kv_table(rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column label/value table without borders."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def runs_table(runs: Iterable[Mapping[str, Any]], now: datetime | None = None) -> Table:
    """Runs, one row each: cycle, attempt, fire slot, outcome, exit code, duration."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("CYCLE", "TRY", "FIRE SLOT", "OUTCOME", "EXIT", "TOOK"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            str(run["cycle"]),
            str(run["attempt"]),
            local_time(run["fire_time"], now, rel=False),
            styled(run.get("outcome") or "running", OUTCOME_STYLE),
            "—" if run.get("exit_code") is None else str(run["exit_code"]),
            took(run),
        )
    return table


def took(run: Mapping[str, Any]) -> str:
    """How long a run took (``—`` while it runs)."""
    start, end = parse_iso(run.get("started_at")), parse_iso(run.get("finished_at"))
    if start is None or end is None:
        return "—"
    seconds = max(0.0, (end - start).total_seconds())
    return f"{seconds:.2f}s" if seconds < 60 else format_duration(float(int(seconds)))


def event_line(event: Mapping[str, Any]) -> Text:
    """One event as a log line: time, seq, type, job name, status, message."""
    when = parse_iso(event.get("timestamp"))
    stamp = when.astimezone().strftime("%H:%M:%S") if when else "--:--:--"
    line = Text(f"{stamp} #{event['seq']:<6} ", style="dim")
    line.append(f"{event['type']:<22} ", style="bold")
    if event.get("name"):
        line.append(f"{event['name']} ")
    status = event.get("status")
    if status:
        line.append(status, style=STATUS_STYLE.get(status, ""))
        line.append(" ")
    if event.get("message"):
        line.append(str(event["message"]))
    return line
