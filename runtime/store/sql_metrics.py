"""The reads that restore the per-job metrics at start (``runtime/job_metrics.py``).

Two queries, so a start with 100k jobs decodes no job state it does not need: the catalog
(every stored job, in creation order — ``rowid``, which the upsert keeps — with its name,
status and tags) and, for the few jobs that get series, their next fire and their last
runs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import attrs

from gnomon.runtime.model import wire
from gnomon.runtime.model.state import RunRecord


@attrs.frozen(kw_only=True)
class CatalogRow:
    """A stored job, as the per-job metrics select it."""

    id: str
    name: str
    status: str
    tags: dict[str, str]


@attrs.frozen(kw_only=True)
class HistoryRow:
    """What the per-job metrics restore of one job."""

    id: str
    created_at: str
    next_fire_at: str | None
    last_success_ts: float | None
    last_run: RunRecord | None


def catalog(conn: sqlite3.Connection) -> list[CatalogRow]:
    """Every stored job, oldest first."""
    rows = conn.execute("SELECT id, name, status, tags FROM jobs ORDER BY rowid")
    return [CatalogRow(id=r[0], name=r[1], status=r[2], tags=json.loads(r[3])) for r in rows]


_HISTORY = (
    "SELECT j.id, json_extract(j.state, '$.created_at'), json_extract(j.state, '$.next_fire_at'),"
    " (SELECT MAX(r.finished_ts) FROM runs r WHERE r.job_id = j.id"
    "   AND json_extract(r.record, '$.outcome') = 'success'),"
    " (SELECT r.record FROM runs r WHERE r.job_id = j.id AND r.finished_ts IS NOT NULL"
    "   ORDER BY r.finished_ts DESC LIMIT 1)"
    " FROM jobs j WHERE j.id = ?"
)


def history(conn: sqlite3.Connection, ids: Sequence[str]) -> list[HistoryRow]:
    """Next fire, last success time and last finished run of each job in ``ids``."""
    out = []
    for job_id in ids:
        row = conn.execute(_HISTORY, (job_id,)).fetchone()
        if row is None:
            continue
        out.append(
            HistoryRow(
                id=row[0],
                created_at=row[1],
                next_fire_at=row[2],
                last_success_ts=row[3],
                last_run=None if row[4] is None else wire.from_json(row[4], RunRecord),
            )
        )
    return out
