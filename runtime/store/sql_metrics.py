"""The reads that restore the per-job metrics at start (``runtime/job_metrics.py``).

Two reads, so a start with 100k jobs decodes no job state it does not need: the catalog
(the jobs that get series, in creation order — ``rowid``, which the upsert keeps — with
their name, status and tags) and, for those few jobs, their next fire and last runs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence

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


def catalog(
    conn: sqlite3.Connection,
    tag_key: str,
    classify: Callable[[dict[str, str]], bool | None],
    limit: int,
) -> list[CatalogRow]:
    """The jobs that get per-job series, oldest first: every job ``classify`` says yes to
    (tagged on), and the first ``limit`` it has no opinion on (untagged). Reads the table
    in ``rowid`` order only until ``limit`` untagged jobs are found, plus one scan for the
    tag key (a C-level substring test), so a start with 100k jobs stays cheap."""
    cols = "SELECT rowid, id, name, status, tags FROM jobs"
    picked: dict[int, CatalogRow] = {}
    for r in conn.execute(f"{cols} WHERE instr(tags, ?) > 0", (json.dumps(tag_key),)):
        row = _row(r)
        if classify(row.tags) is True:
            picked[r[0]] = row
    untagged = 0
    for r in conn.execute(f"{cols} ORDER BY rowid") if limit > 0 else ():
        row = _row(r)
        if classify(row.tags) is None:
            picked[r[0]] = row
            untagged += 1
            if untagged >= limit:
                break
    return [picked[k] for k in sorted(picked)]


def _row(r: tuple[int, str, str, str, str]) -> CatalogRow:
    tags = {} if r[4] == "{}" else json.loads(r[4])
    return CatalogRow(id=r[1], name=r[2], status=r[3], tags=tags)


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
