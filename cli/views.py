"""Human views of the daemon's answers: job tables, a job's page, runs, events.

Everything here takes the JSON the daemon sent (the keys of ``docs/protocol.md``) and
turns it into :mod:`gnomon.cli.table` rows or plain lines; colour is added only on a
terminal. Times are relative ages and short local times (:mod:`gnomon.cli.timefmt`),
including the ISO timestamps inside schedules, reasons and messages.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gnomon.cli.table import Cell, CellLike, Column, cell_width, clip, one_line, paint
from gnomon.cli.timefmt import ago, humanize, local_time, parse_iso, short_local, when_text
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
Rows = list[list[CellLike]]

JOB_COLUMNS = (
    Column("ID"),
    Column("NAME", flex=1),
    Column("STATUS"),
    Column("NEXT FIRE"),
    Column("LAST"),
    Column("SCHEDULE", flex=1),
    Column("TAGS", flex=2),
    Column("NEXT FIRE AT", wide=True),
    Column("OWNER", wide=True),
    Column("CREATED", wide=True),
    Column("DO", wide=True),
)


def next_fire_text(job: Mapping[str, Any], now: datetime, *, short: bool = True) -> str:
    """The next fire as it will happen: its age (or full local time), or ``— blocked by X``
    / ``— paused`` / ``— waiting for COND`` when something holds it (the daemon's
    ``hold``)."""
    if job.get("hold"):
        return f"— {job['hold']}"
    value = job.get("next_fire_at")
    return ago(value, now) if short else local_time(value, now)


def styled(value: str | None, styles: Mapping[str, str]) -> Cell:
    """``value`` in its style (``—`` when absent)."""
    if not value:
        return Cell("—", "dim")
    return Cell(value, styles.get(value, ""))


def tags_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" if v else k for k, v in sorted(tags.items()))


def jobs_rows(jobs: Iterable[Mapping[str, Any]], now: datetime | None = None) -> Rows:
    """The ``jobs list`` rows (columns :data:`JOB_COLUMNS`), in the daemon's order."""
    now = now or datetime.now(UTC)
    rows: Rows = []
    for job in jobs:
        nxt = parse_iso(job.get("next_fire_at"))
        rows.append(
            [
                job["id"][:ID_WIDTH],
                job["name"],
                styled(job["status"], STATUS_STYLE),
                next_fire_text(job, now),
                styled(job.get("last_outcome"), OUTCOME_STYLE),
                humanize(job["schedule"], now),
                tags_text(job.get("tags") or {}),
                "—" if nxt is None else short_local(nxt, now),
                job.get("owner") or "—",
                ago(job.get("created_at"), now),
                job.get("action") or "",
            ]
        )
    return rows


def job_rows(job: Mapping[str, Any], now: datetime | None = None) -> list[tuple[str, CellLike]]:
    """Label/value rows of one job's page (``jobs show``)."""
    now = now or datetime.now(UTC)
    rows: list[tuple[str, CellLike]] = [
        ("id", job["id"]),
        ("name", job["name"]),
        ("status", styled(job["status"], STATUS_STYLE)),
    ]
    for key, label in (("reason", "why"), ("message", "message")):
        if job.get(key):
            rows.append((label, humanize(job[key], now)))
    rows += [("schedule", humanize(job["schedule"], now)), ("do", job["action"])]
    if job.get("wait"):
        rows.append(("wait", job["wait"]))
    for key, label in (("depends_on", "depends on"), ("triggers", "triggers")):
        if job.get(key):
            rows.append((label, ", ".join(job[key])))
    rows += [
        ("next fire", next_fire_text(job, now, short=False)),
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


def kv_lines(rows: Sequence[tuple[str, CellLike]], *, width: int | None, color: bool) -> list[str]:
    """A label/value page: labels bold; in a terminal, long values are folded at word
    boundaries under their column (never mid-word unless one word is wider than it)."""
    label_width = max((cell_width(label) for label, _ in rows), default=0) + 2
    room = None if width is None else max(20, width - label_width)
    lines = []
    for label, value in rows:
        cell = value if isinstance(value, Cell) else Cell(str(value))
        text = one_line(cell.text)
        parts = [text] if room is None else textwrap.wrap(text, room) or [""]
        head = paint(label.ljust(label_width), "bold", color)
        lines.append(head + paint(parts[0], cell.style, color))
        lines += [" " * label_width + paint(p, cell.style, color) for p in parts[1:]]
    return lines


RUN_COLUMNS = (
    Column("CYCLE", right=True),
    Column("TRY", right=True),
    Column("FIRE SLOT"),
    Column("OUTCOME"),
    Column("EXIT", right=True),
    Column("TOOK", right=True),
    Column("ERROR", flex=1),
    Column("RUN", wide=True),
    Column("STARTED", wide=True),
)


def runs_rows(runs: Iterable[Mapping[str, Any]], now: datetime | None = None) -> Rows:
    """Runs, one row each: cycle, attempt, fire slot, outcome, exit code, duration, error."""
    now = now or datetime.now(UTC)
    rows: Rows = []
    for run in runs:
        slot, started = parse_iso(run["fire_time"]), parse_iso(run.get("started_at"))
        rows.append(
            [
                str(run["cycle"]),
                str(run["attempt"]),
                "—" if slot is None else short_local(slot, now),
                styled(run.get("outcome") or "running", OUTCOME_STYLE),
                "—" if run.get("exit_code") is None else str(run["exit_code"]),
                took(run),
                humanize(run.get("error") or "", now),
                run.get("run_id") or "",
                "—" if started is None else short_local(started, now),
            ]
        )
    return rows


def took(run: Mapping[str, Any]) -> str:
    """How long a run took (``—`` while it runs)."""
    start, end = parse_iso(run.get("started_at")), parse_iso(run.get("finished_at"))
    if start is None or end is None:
        return "—"
    seconds = max(0.0, (end - start).total_seconds())
    return f"{seconds:.2f}s" if seconds < 60 else format_duration(float(int(seconds)))


def run_lines(run: Mapping[str, Any], color: bool) -> list[str]:
    """One run as ``jobs logs`` prints it: a heading, the output as it was, the error."""
    outcome = run.get("outcome") or "running"
    code = "" if run.get("exit_code") is None else f" exit {run['exit_code']}"
    head = paint(f"── cycle {run['cycle']} attempt {run['attempt']}", "bold", color)
    when = paint(local_time(run.get("started_at"), rel=False), "dim", color)
    lines = [f"{head} {when} {outcome}{code}"]
    text = run.get("output") or ""
    if text:
        lines.append(text.rstrip("\n"))
    if run.get("error"):
        lines.append(paint(run["error"], "red", color))
    return lines


def transition_line(t: Mapping[str, Any], now: datetime, color: bool) -> str:
    """One status transition: ``16:08:35  pending → running  fire 1 started``."""
    at = parse_iso(t["at"])
    stamp = "—" if at is None else short_local(at, now)
    to = paint(t["to_status"], STATUS_STYLE.get(t["to_status"], ""), color)
    return f"  {stamp}  {t['from_status']} → {to}  {humanize(t.get('reason') or '', now)}"


def event_line(event: Mapping[str, Any], color: bool = False, width: int | None = None) -> str:
    """One event as a log line: local time, seq, type, job name, status, message — cut
    with ``…`` to ``width`` when given (a terminal), so an event is one line."""
    when = parse_iso(event.get("timestamp"))
    stamp = when.astimezone().strftime("%H:%M:%S") if when else "--:--:--"
    head = [(f"{stamp} #{event['seq']:<6}", "dim"), (f"{event['type']:<22}", "bold")]
    if event.get("name"):
        head.append((str(event["name"]), ""))
    status = event.get("status")
    if status:
        head.append((status, STATUS_STYLE.get(status, "")))
    message = one_line(humanize(str(event.get("message") or "")))
    plain = " ".join(text for text, _ in head)
    if width is not None:
        room = width - cell_width(plain) - 1
        if room < 1:
            return clip(f"{plain} {message}".rstrip(), width)
        message = clip(message, room)
    return " ".join([*(paint(t, style, color) for t, style in head), message]).rstrip()


def when_cell(value: str | None, now: datetime | None = None) -> str:
    """A timestamp cell: short local time and age, ``—`` when absent."""
    return when_text(value, now)
