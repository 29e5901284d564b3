"""The PostgreSQL store's smaller tables: tokens, daemon switches, and the reads that
restore the per-job metrics — the counterparts of :mod:`.tokens_sql` and
:mod:`.sql_metrics`, with the same results. Synchronous; no trio.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from gnomon.runtime.model import wire
from gnomon.runtime.model.state import RunRecord
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.store.sql_metrics import CatalogRow, HistoryRow

Conn = psycopg.Connection[Any]

PUT_TOKEN = (
    "INSERT INTO tokens (id, hash, revoked_ts, record) VALUES (%s,%s,%s,%s)"
    " ON CONFLICT (id) DO UPDATE SET hash=excluded.hash, revoked_ts=excluded.revoked_ts,"
    " record=excluded.record"
)


def tokens(conn: Conn) -> list[TokenRecord]:
    rows = conn.execute("SELECT record FROM tokens ORDER BY rowid")
    return [wire.from_json(r[0], TokenRecord) for r in rows]


def put_tokens(conn: Conn, records: Sequence[TokenRecord]) -> None:
    """Store ``records`` (new tokens or revocations) in one transaction."""
    rows = [
        (
            r.id,
            r.hash,
            None if r.revoked_at is None else r.revoked_at.timestamp(),
            wire.to_json(r),
        )
        for r in records
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(PUT_TOKEN, rows)


def get_switch(conn: Conn, name: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=%s", (f"switch.{name}",)).fetchone()
    return None if row is None else str(row[0])


def set_switch(conn: Conn, name: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
        (f"switch.{name}", value),
    )


def catalog(
    conn: Conn,
    tag_key: str,
    classify: Callable[[dict[str, str]], bool | None],
    limit: int,
) -> list[CatalogRow]:
    """The jobs that get per-job series, oldest first (see :func:`.sql_metrics.catalog`)."""
    cols = "SELECT rowid, id, name, status, tags FROM jobs"
    picked: dict[int, CatalogRow] = {}
    for r in conn.execute(f"{cols} WHERE strpos(tags, %s) > 0", (json.dumps(tag_key),)):
        row = _row(r)
        if classify(row.tags) is True:
            picked[r[0]] = row
    if limit > 0:
        untagged = 0
        with conn.cursor() as cur:
            for r in cur.execute(f"{cols} ORDER BY rowid"):
                row = _row(r)
                if classify(row.tags) is None:
                    picked[r[0]] = row
                    untagged += 1
                    if untagged >= limit:
                        break
    return [picked[k] for k in sorted(picked)]


def _row(r: Any) -> CatalogRow:
    tags = {} if r[4] == "{}" else json.loads(r[4])
    return CatalogRow(id=r[1], name=r[2], status=r[3], tags=tags)


_HISTORY = (
    "SELECT j.id, j.state::jsonb ->> 'created_at', j.state::jsonb ->> 'next_fire_at',"
    " (SELECT MAX(r.finished_ts) FROM runs r WHERE r.job_id = j.id"
    "   AND r.record::jsonb ->> 'outcome' = 'success'),"
    " (SELECT r.record FROM runs r WHERE r.job_id = j.id AND r.finished_ts IS NOT NULL"
    "   ORDER BY r.finished_ts DESC LIMIT 1)"
    " FROM jobs j WHERE j.id = ANY(%s)"
)


def history(conn: Conn, ids: Sequence[str]) -> list[HistoryRow]:
    """Next fire, last success time and last finished run of each job in ``ids``."""
    found = {r[0]: r for r in conn.execute(_HISTORY, (list(ids),))}
    return [
        HistoryRow(
            id=row[0],
            created_at=row[1],
            next_fire_at=row[2],
            last_success_ts=row[3],
            last_run=None if row[4] is None else wire.from_json(row[4], RunRecord),
        )
        for job_id in ids
        if (row := found.get(job_id)) is not None
    ]
