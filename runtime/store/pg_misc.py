"""The PostgreSQL store's smaller tables: tokens, daemon switches, and the reads that
restore the per-job metrics — the counterparts of :mod:`.tokens_sql` and
:mod:`.sql_metrics`, with the same results. Synchronous; no trio.

Every change of a token or a switch sends ``NOTIFY gnomon_settings`` in its transaction
(delivered at its commit): the other daemons of a cluster reload them
(runtime/cluster/settings.py, docs/cluster.md "What is global"); :func:`settings_mark` is
what their periodic catch-up compares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from gnomon.runtime.errors import Conflict
from gnomon.runtime.model import wire
from gnomon.runtime.model.state import RunRecord
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.store import TokenNameTaken
from gnomon.runtime.store.sql_metrics import CatalogRow, HistoryRow

Conn = psycopg.Connection[Any]

#: The channel a change of tokens or switches is announced on.
SETTINGS_CHANNEL = "gnomon_settings"
_NOTIFY = f"NOTIFY {SETTINGS_CHANNEL}"
#: Changes whenever a token or a switch row is written or deleted, by anyone (the newest
#: writing transaction's id and the row count of each table; no NOTIFY needed).
_MARK = (
    "SELECT (SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM tokens)"
    " || '/' || (SELECT count(*) || ':' || coalesce(max(xmin::text::bigint), 0) FROM meta"
    " WHERE key LIKE 'switch.%')"
)

PUT_TOKEN = (
    "INSERT INTO tokens (id, hash, revoked_ts, record) VALUES (%s,%s,%s,%s)"
    " ON CONFLICT (id) DO UPDATE SET hash=excluded.hash, revoked_ts=excluded.revoked_ts,"
    " record=excluded.record"
)


#: Serialises the writers of one token name (a transaction-scoped advisory lock, waited
#: for: the loser then reads the winner's committed row, READ COMMITTED).
_TOKEN_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('gnomon-token:' || %s, 0))"
_LIVE_TOKEN = (
    "SELECT id FROM tokens WHERE revoked_ts IS NULL AND id <> %s"
    " AND record::jsonb ->> 'name' = %s LIMIT 1"
)
#: The longest wait for another transaction writing a token of the same name (ms).
TOKEN_LOCK_WAIT_MS = 2000


def tokens(conn: Conn) -> list[TokenRecord]:
    rows = conn.execute("SELECT record FROM tokens ORDER BY rowid")
    return [wire.from_json(r[0], TokenRecord) for r in rows]


def put_tokens(conn: Conn, records: Sequence[TokenRecord]) -> None:
    """Store ``records`` (new tokens or revocations) in one transaction; a live record's
    name must not be live on another token (:func:`check_live_names`).

    Raises:
        TokenNameTaken, Conflict: as :func:`check_live_names`; nothing was written.
    """
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
        check_live_names(conn, records)
        cur.executemany(PUT_TOKEN, rows)
        cur.execute(_NOTIFY)


def check_live_names(conn: Conn, records: Sequence[TokenRecord]) -> None:
    """In the caller's transaction: for each live record, take its name's lock (waiting
    at most :data:`TOKEN_LOCK_WAIT_MS` for another writer of that name to commit or roll
    back) and check that no other live token carries it. Two daemons of a cluster
    creating one name at once: the second waits for the first's commit, then sees its
    row and is refused exactly as a daemon alone refuses a taken name.

    Raises:
        TokenNameTaken: another live token has the name.
        Conflict: the lock was not granted in time (another transaction holds it).
    """
    live = sorted((r.name, r.id) for r in records if r.revoked_at is None)
    if not live:
        return
    conn.execute(f"SET LOCAL lock_timeout = {TOKEN_LOCK_WAIT_MS}")
    for name, token_id in live:
        try:
            conn.execute(_TOKEN_LOCK, (name,))
        except psycopg.errors.LockNotAvailable:
            raise Conflict(
                f"a token named {name!r} is being created on another node right now",
                hint="pick another name, or retry to see which one won",
            ) from None
        if conn.execute(_LIVE_TOKEN, (token_id, name)).fetchone() is not None:
            raise TokenNameTaken(name)


def get_switch(conn: Conn, name: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=%s", (f"switch.{name}",)).fetchone()
    return None if row is None else str(row[0])


def set_switch(conn: Conn, name: str, value: str) -> None:
    with conn.transaction():
        _put_switch(conn, name, value)


def _put_switch(conn: Conn, name: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
        (f"switch.{name}", value),
    )
    conn.execute(_NOTIFY)


def update_switch(conn: Conn, name: str, change: Callable[[str | None], str]) -> str:
    """Switch ``name`` replaced by ``change(current)`` in one transaction, its row locked
    first (made if missing), so concurrent changes through several daemons serialise;
    the new value. Whatever ``change`` raises rolls it back and propagates."""
    key = f"switch.{name}"
    with conn.transaction():
        conn.execute("INSERT INTO meta VALUES (%s, '') ON CONFLICT (key) DO NOTHING", (key,))
        row = conn.execute("SELECT value FROM meta WHERE key=%s FOR UPDATE", (key,)).fetchone()
        value = change(str(row[0]) if row is not None and row[0] else None)
        _put_switch(conn, name, value)
    return value


def settings_mark(conn: Conn) -> str:
    """A value that changes with every write of a token or a switch (see :data:`_MARK`)."""
    row = conn.execute(_MARK).fetchone()
    return "" if row is None else str(row[0])


def switches(conn: Conn) -> dict[str, str]:
    """Every stored switch by name (``agents.enabled``, ``calendars``, ``policy``)."""
    rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE 'switch.%'")
    return {str(k).removeprefix("switch."): str(v) for k, v in rows if v}


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
