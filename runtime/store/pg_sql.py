"""The SQL of the PostgreSQL store: schema, migration and reads over one psycopg connection.

Synchronous functions, run on a worker thread of the store (or inline in virtual-time
tests), each on a connection in autocommit mode: a read is one statement and holds no
transaction. They mirror :mod:`.sql` (SQLite) result for result; the write path is
:mod:`.pg_write`. Nothing here knows about trio.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import psycopg

from gnomon.runtime.inbox import entry_of
from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.stored import decode_state
from gnomon.runtime.protocol_inbox import InboxEntry
from gnomon.runtime.store import EventQuery, JobQuery, JobRow
from gnomon.runtime.store.sql import _tags_match
from gnomon.runtime.store.sql_write import iso

SCHEMA_VERSION = 1
#: ``pg_advisory_xact_lock`` key serialising schema creation between starting daemons.
MIGRATE_LOCK = 0x676E6D6E_0001

Conn = psycopg.Connection[Any]


def migrate(conn: Conn) -> None:
    """Create or bring the schema to :data:`SCHEMA_VERSION` (refuses a newer database).

    Raises:
        RuntimeError: the database was written by a newer gnomon.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has gnomon schema version {version}, newer than this gnomon"
                f" ({SCHEMA_VERSION}); upgrade gnomon"
            )
        if version < 1:
            conn.execute(files(__package__).joinpath("pg_schema.sql").read_text())
            conn.execute(
                "INSERT INTO meta VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )


# -- reading -------------------------------------------------------------------------------


def get_job(conn: Conn, job_id: str) -> JobState | None:
    row = conn.execute("SELECT state FROM jobs WHERE id=%s", (job_id,)).fetchone()
    return None if row is None else decode_state(row[0])


def job_index(conn: Conn) -> list[JobRow]:
    terminal = [s.value for s in JobStatus if s.terminal]
    rows = conn.execute(
        "SELECT id, name, status, owner, wake_ts, depends_on FROM jobs"
        " WHERE NOT (status = ANY(%s)) ORDER BY rowid",
        (terminal,),
    ).fetchall()
    return [
        JobRow(
            id=r[0],
            name=r[1],
            status=JobStatus(r[2]),
            owner=r[3],
            wake=None if r[4] is None else datetime.fromtimestamp(r[4], UTC),
            depends_on=tuple(json.loads(r[5])),
        )
        for r in rows
    ]


def _job_filter(query: JobQuery) -> tuple[list[str], list[Any]]:
    """The WHERE terms and arguments of ``query`` (its tags are matched in Python)."""
    where: list[str] = []
    args: list[Any] = []
    statuses = set(query.statuses)
    if not statuses and not query.include_terminal:
        statuses = {s for s in JobStatus if not s.terminal}
    if statuses:
        where.append("status = ANY(%s)")
        args.append(sorted(s.value for s in statuses))
    if query.owner:
        where.append("(owner = %s OR owner LIKE %s)")
        args += [query.owner, query.owner.replace("%", r"\%").replace("_", r"\_") + ":%"]
    if query.name:
        where.append("strpos(lower(name), lower(%s)) > 0")
        args.append(query.name)
    if query.ids:
        where.append("id = ANY(%s)")
        args.append(list(query.ids))
    if query.search:
        where.append(_SEARCHED)
        args += [query.search] * 3
    return where, args


#: Where ``JobQuery.search`` looks, as in :mod:`.sql`: the name, the id, and each tag as
#: ``key=value`` (the tags column holds a JSON object as text).
_SEARCHED = (
    "(strpos(lower(name), lower(%s)) > 0 OR strpos(lower(id), lower(%s)) > 0"
    " OR EXISTS (SELECT 1 FROM json_each_text(jobs.tags::json) AS t"
    " WHERE strpos(lower(t.key || '=' || t.value), lower(%s)) > 0))"
)


def count_jobs(conn: Conn, query: JobQuery) -> int:
    """How many jobs match ``query`` (its ``limit`` aside)."""
    where, args = _job_filter(query)
    clause = " WHERE " + " AND ".join(where) if where else ""
    if not query.tags:
        return int(scalar(conn, "SELECT count(*) FROM jobs" + clause, args))
    rows = conn.execute("SELECT tags FROM jobs" + clause, args).fetchall()
    return sum(1 for (tags,) in rows if _tags_match(json.loads(tags), query.tags))


def matching_jobs(conn: Conn, query: JobQuery, after: int | None) -> list[tuple[int, JobState]]:
    """Up to ``query.limit`` matching jobs, in storage order, each with its row id; only
    those above row ``after`` when it is given (``job.list`` pages)."""
    where, args = _job_filter(query)
    if after is not None:
        where.append("rowid > %s")
        args.append(after)
    sql = "SELECT rowid, tags, state FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
    out = []
    with conn.cursor() as cur:
        for rowid, tags, state in cur.execute(sql + " ORDER BY rowid", args):
            if not query.tags or _tags_match(json.loads(tags), query.tags):
                out.append((int(rowid), decode_state(state)))
                if len(out) >= query.limit:
                    break
    return out


def runs_page(
    conn: Conn,
    job_id: str,
    limit: int,
    *,
    cycle: int | None = None,
    before: tuple[float, str] | None = None,
) -> list[tuple[float, RunRecord]]:
    """A job's newest ``limit`` runs (of ``cycle``), older than the ``(started_ts,
    run_id)`` key ``before``, newest first, each with its ``started_ts``."""
    where: list[str] = ["job_id=%s"]
    args: list[Any] = [job_id]
    if before is not None:
        where.append("(started_ts, run_id) < (%s, %s)")
        args += list(before)
    if cycle is not None:
        where.append("(record::jsonb ->> 'cycle')::bigint = %s")
        args.append(cycle)
    rows = conn.execute(
        f"SELECT started_ts, record FROM runs WHERE {' AND '.join(where)}"
        " ORDER BY started_ts DESC, run_id DESC LIMIT %s",
        (*args, limit),
    )
    return [(float(r[0]), wire.from_json(r[1], RunRecord)) for r in rows]


def open_runs(conn: Conn, other_than_boot: str) -> list[RunRecord]:
    rows = conn.execute(
        "SELECT record FROM runs WHERE finished_ts IS NULL AND boot_id != %s", (other_than_boot,)
    )
    return [wire.from_json(r[0], RunRecord) for r in rows]


def fire_claimed(conn: Conn, job_id: str, fire_time: datetime) -> bool:
    row = conn.execute(
        "SELECT 1 FROM fires WHERE job_id=%s AND fire_time=%s", (job_id, iso(fire_time))
    ).fetchone()
    return row is not None


def status_counts(conn: Conn) -> dict[JobStatus, int]:
    rows = conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
    return {JobStatus(status): int(n) for status, n in rows}


def events(conn: Conn, query: EventQuery) -> list[Event]:
    where, args = ["seq > %s"], list[Any]([query.since_seq])
    for term, value in (
        ("job_id = %s", query.job_id or None),
        ("ts >= %s", query.since.timestamp() if query.since is not None else None),
        ("ts < %s", query.until.timestamp() if query.until is not None else None),
        ("seq <= %s", query.until_seq),
    ):
        if value is not None:
            where.append(term)
            args.append(value)
    order = "DESC" if query.newest else ""
    sql = f"SELECT type, event FROM events WHERE {' AND '.join(where)} ORDER BY seq {order}"
    out = []
    with conn.cursor() as cur:
        for type_, text in cur.execute(sql, args):
            if query.types and not any(fnmatch.fnmatchcase(type_, p) for p in query.types):
                continue
            out.append(wire.from_json(text, Event))
            if len(out) >= query.limit:
                break
    return out[::-1] if query.newest else out


#: The committed chain head's ``seq`` (moved by every node's commits).
HEAD_SEQ = "SELECT seq FROM chain_head WHERE id=1"


def event_rows(conn: Conn, after_seq: int, limit: int) -> list[tuple[int, str, bytes | None]]:
    """``(seq, event JSON, mac)`` after ``after_seq``, ascending (the audit's pages)."""
    rows = conn.execute(
        "SELECT seq, event, mac FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
        (after_seq, limit),
    )
    return [(int(r[0]), str(r[1]), None if r[2] is None else bytes(r[2])) for r in rows]


def begin_boot(conn: Conn, boot_id: str, now: datetime) -> tuple[bool, bool]:
    """Record this boot; return ``(first_boot, previous_clean)``."""
    with conn.transaction():
        row = conn.execute("SELECT clean FROM boots ORDER BY started_ts DESC LIMIT 1").fetchone()
        conn.execute(
            "INSERT INTO boots (boot_id, started_ts) VALUES (%s, %s)", (boot_id, now.timestamp())
        )
    return row is None, bool(row[0]) if row is not None else True


def end_boot(conn: Conn, boot_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE boots SET stopped_ts=%s, clean=TRUE WHERE boot_id=%s", (now.timestamp(), boot_id)
    )


def inbox(conn: Conn, owner: str, unread_only: bool) -> list[InboxEntry]:
    sql = "SELECT id, job_id, created_ts, item, read_ts FROM inbox WHERE owner=%s"
    if unread_only:
        sql += " AND read_ts IS NULL"
    sql += " ORDER BY (read_ts IS NOT NULL), id"
    return [entry_of(r) for r in conn.execute(sql, (owner,))]


def ack_inbox(conn: Conn, owner: str, ids: Sequence[int], now: datetime) -> int:
    cur = conn.execute(
        "UPDATE inbox SET read_ts=%s WHERE owner=%s AND id = ANY(%s) AND read_ts IS NULL",
        (now.timestamp(), owner, list(ids)),
    )
    return cur.rowcount


def scalar(conn: Conn, sql: str, args: Sequence[Any] = ()) -> Any:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]
