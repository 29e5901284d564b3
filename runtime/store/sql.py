"""The SQL of the SQLite store: synchronous functions over one ``sqlite3.Connection``.

They run on the store's worker thread (or inline in virtual-time tests), one at a time.
Nothing here knows about trio. Units of work are written only by :func:`commit_batch`
(:mod:`.sql_write`, re-exported here with :class:`Chain` and :func:`iso`).
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from gnomon.runtime.faults import crash_point
from gnomon.runtime.inbox import entry_of
from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.stored import decode_state
from gnomon.runtime.protocol_inbox import InboxEntry
from gnomon.runtime.store import EventQuery, JobQuery, JobRow
from gnomon.runtime.store.chain import Chain, open_chain
from gnomon.runtime.store.private import private_files
from gnomon.runtime.store.sql_write import commit_batch, delete_job, iso, rollback

__all__ = ["Chain", "commit_batch", "iso"]

SCHEMA_VERSION = 2


def connect(path: str, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open the database (WAL, explicit transactions, files 0600) and migrate it. A database
    that does not exist yet is built beside it and renamed into place, so that a crash
    during a first start never leaves an empty ``gnomon.db`` (which a start refuses)."""
    with private_files(path):
        if path != ":memory:" and not os.path.exists(path):
            _create(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def _create(path: str) -> None:
    folder, name = os.path.split(os.path.abspath(path))
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(name) + ".new-*")):
        os.unlink(stale)  # a draft of a first start that died
    draft = f"{path}.new-{os.getpid()}"
    conn = sqlite3.connect(draft, isolation_level=None)
    try:
        crash_point("creating_store")
        conn.execute("PRAGMA journal_mode=WAL")
        migrate(conn)
    finally:
        conn.close()  # checkpoints: the draft is whole, with no -wal beside it
    os.replace(draft, path)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` (refuses a newer database)."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {version}, newer than this gnomon "
            f"({SCHEMA_VERSION}); upgrade gnomon"
        )
    if version < 1:
        script = files(__package__).joinpath("schema.sql").read_text()
    elif version < 2:  # events get their MAC (docs/store.md, "The hash chain")
        script = "ALTER TABLE events ADD COLUMN mac BLOB;"
    else:
        return
    conn.executescript(
        f"BEGIN; {script} INSERT OR REPLACE INTO meta VALUES"
        f" ('schema_version', '{SCHEMA_VERSION}'); COMMIT;"
    )


# -- the hash chain ------------------------------------------------------------------------


def load_chain(conn: sqlite3.Connection, key: bytes = b"") -> Chain:
    """The chain to continue (anchored first if it never was); see :mod:`.chain`."""
    return open_chain(conn, key, "the database")[0]


# -- reading -------------------------------------------------------------------------------


def get_job(conn: sqlite3.Connection, job_id: str) -> JobState | None:
    row = conn.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
    return None if row is None else decode_state(row[0])


def job_index(conn: sqlite3.Connection) -> list[JobRow]:
    terminal = tuple(s.value for s in JobStatus if s.terminal)
    rows = conn.execute(
        "SELECT id, name, status, owner, wake_ts, depends_on FROM jobs"
        f" WHERE status NOT IN ({','.join('?' * len(terminal))})",
        terminal,
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


def _tags_match(tags: dict[str, str], wanted: Iterable[tuple[str, str | None]]) -> bool:
    return all(k in tags and (v is None or tags[k] == v) for k, v in wanted)


def _job_filter(query: JobQuery) -> tuple[list[str], list[Any]]:
    """The WHERE terms and arguments of ``query`` (its tags are matched in Python)."""
    where: list[str] = []
    args: list[Any] = []
    statuses = set(query.statuses)
    if not statuses and not query.include_terminal:
        statuses = {s for s in JobStatus if not s.terminal}
    if statuses:
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        args += sorted(s.value for s in statuses)
    if query.owner:
        where.append("(owner = ? OR owner LIKE ?)")
        args += [query.owner, query.owner + ":%"]
    if query.name:
        where.append("instr(lower(name), lower(?)) > 0")
        args.append(query.name)
    if query.ids:
        where.append(f"id IN ({','.join('?' * len(query.ids))})")
        args += list(query.ids)
    if query.search:
        where.append(f"({' OR '.join(_SEARCHED)})")
        args += [query.search] * len(_SEARCHED)
    return where, args


#: Where ``JobQuery.search`` looks: the name, the id, and each tag as ``key=value`` (one
#: row per tag from ``json_each`` over the tags column); SQLite's ``lower`` on both sides
#: ignores the case of ASCII letters.
_SEARCHED = (
    "instr(lower(name), lower(?)) > 0",
    "instr(lower(id), lower(?)) > 0",
    "EXISTS (SELECT 1 FROM json_each(jobs.tags) AS t"
    " WHERE instr(lower(t.key || '=' || t.value), lower(?)) > 0)",
)


def count_jobs(conn: sqlite3.Connection, query: JobQuery) -> int:
    """How many jobs match ``query`` (its ``limit`` aside)."""
    where, args = _job_filter(query)
    clause = " WHERE " + " AND ".join(where) if where else ""
    if not query.tags:
        return int(conn.execute("SELECT count(*) FROM jobs" + clause, args).fetchone()[0])
    rows = conn.execute("SELECT tags FROM jobs" + clause, args)
    return sum(1 for (tags,) in rows if _tags_match(json.loads(tags), query.tags))


def list_jobs(conn: sqlite3.Connection, query: JobQuery) -> list[JobState]:
    return [state for _, state in _matching_jobs(conn, query, None)]


def page_jobs(conn: sqlite3.Connection, query: JobQuery, after: int) -> list[tuple[int, JobState]]:
    """Up to ``query.limit`` matching jobs whose row id is above ``after``, by row id (the
    order they were first stored in, which no update changes), each with its row id."""
    return _matching_jobs(conn, query, after)


def _matching_jobs(
    conn: sqlite3.Connection, query: JobQuery, after: int | None
) -> list[tuple[int, JobState]]:
    where, args = _job_filter(query)
    if after is not None:
        where.append("rowid > ?")
        args.append(after)
    sql = "SELECT rowid, tags, state FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
    if after is not None:
        sql += " ORDER BY rowid"
    out = []
    for rowid, tags, state in conn.execute(sql, args):
        if not query.tags or _tags_match(json.loads(tags), query.tags):
            out.append((int(rowid), decode_state(state)))
            if len(out) >= query.limit:
                break
    return out


def runs_of(conn: sqlite3.Connection, job_id: str, limit: int) -> list[RunRecord]:
    return [run for _, run in runs_page(conn, job_id, limit)]


def runs_page(
    conn: sqlite3.Connection,
    job_id: str,
    limit: int,
    *,
    cycle: int | None = None,
    before: tuple[float, str] | None = None,
) -> list[tuple[float, RunRecord]]:
    """A job's newest ``limit`` runs (of ``cycle``), older than the ``(started_ts,
    run_id)`` key ``before``, newest first, each with its ``started_ts``."""
    where: list[str] = ["job_id=?"]
    args: list[Any] = [job_id]
    if before is not None:
        where.append("(started_ts, run_id) < (?, ?)")
        args += list(before)
    if cycle is not None:
        where.append("json_extract(record, '$.cycle') = ?")
        args.append(cycle)
    rows = conn.execute(
        f"SELECT started_ts, record FROM runs WHERE {' AND '.join(where)}"
        " ORDER BY started_ts DESC, run_id DESC LIMIT ?",
        (*args, limit),
    )
    return [(float(r[0]), wire.from_json(r[1], RunRecord)) for r in rows]


def open_runs(conn: sqlite3.Connection, other_than_boot: str) -> list[RunRecord]:
    rows = conn.execute(
        "SELECT record FROM runs WHERE finished_ts IS NULL AND boot_id != ?", (other_than_boot,)
    )
    return [wire.from_json(r[0], RunRecord) for r in rows]


def fire_claimed(conn: sqlite3.Connection, job_id: str, fire_time: datetime) -> bool:
    row = conn.execute(
        "SELECT 1 FROM fires WHERE job_id=? AND fire_time=?", (job_id, iso(fire_time))
    ).fetchone()
    return row is not None


def status_counts(conn: sqlite3.Connection) -> dict[JobStatus, int]:
    """Stored jobs per status, finished ones included (until retention prunes them)."""
    rows = conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
    return {JobStatus(status): int(n) for status, n in rows}


def events(conn: sqlite3.Connection, query: EventQuery) -> list[Event]:
    where, args = ["seq > ?"], list[Any]([query.since_seq])
    if query.job_id:
        where.append("job_id = ?")
        args.append(query.job_id)
    if query.since is not None:
        where.append("ts >= ?")
        args.append(query.since.timestamp())
    if query.until is not None:
        where.append("ts < ?")
        args.append(query.until.timestamp())
    if query.until_seq is not None:
        where.append("seq <= ?")
        args.append(query.until_seq)
    order = "DESC" if query.newest else ""
    sql = f"SELECT type, event FROM events WHERE {' AND '.join(where)} ORDER BY seq {order}"
    out = []
    for type_, text in conn.execute(sql, args):
        if query.types and not any(fnmatch.fnmatchcase(type_, p) for p in query.types):
            continue
        out.append(wire.from_json(text, Event))
        if len(out) >= query.limit:
            break
    return out[::-1] if query.newest else out


def prune(conn: sqlite3.Connection, now: datetime, batch: int) -> list[str]:
    """Delete up to ``batch`` terminal jobs whose TTL has passed (with runs and slots)."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM jobs WHERE prune_ts IS NOT NULL AND prune_ts <= ? LIMIT ?",
            (now.timestamp(), batch),
        )
    ]
    if ids:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job_id in ids:
                delete_job(conn, job_id)
            conn.execute("COMMIT")
        except BaseException:  # never leave the shared connection inside a transaction
            rollback(conn)
            raise
    return ids


def begin_boot(conn: sqlite3.Connection, boot_id: str, now: datetime) -> tuple[bool, bool]:
    """Record this boot; return ``(first_boot, previous_clean)``."""
    row = conn.execute("SELECT clean FROM boots ORDER BY started_ts DESC LIMIT 1").fetchone()
    conn.execute(
        "INSERT INTO boots (boot_id, started_ts) VALUES (?, ?)", (boot_id, now.timestamp())
    )
    return row is None, bool(row[0]) if row is not None else True


def end_boot(conn: sqlite3.Connection, boot_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE boots SET stopped_ts=?, clean=1 WHERE boot_id=?", (now.timestamp(), boot_id)
    )


def inbox(conn: sqlite3.Connection, owner: str, unread_only: bool) -> list[InboxEntry]:
    sql = "SELECT id, job_id, created_ts, item, read_ts FROM inbox WHERE owner=?"
    if unread_only:
        sql += " AND read_ts IS NULL"
    sql += " ORDER BY (read_ts IS NOT NULL), id"
    return [entry_of(r) for r in conn.execute(sql, (owner,))]


def ack_inbox(conn: sqlite3.Connection, owner: str, ids: Sequence[int], now: datetime) -> int:
    cur = conn.executemany(
        "UPDATE inbox SET read_ts=? WHERE owner=? AND id=? AND read_ts IS NULL",
        [(now.timestamp(), owner, i) for i in ids],
    )
    return cur.rowcount


def event_rows(
    conn: sqlite3.Connection, after_seq: int, limit: int
) -> list[tuple[int, str, bytes | None]]:
    """``(seq, event JSON, mac)`` after ``after_seq``, ascending (the audit's pages)."""
    rows = conn.execute(
        "SELECT seq, event, mac FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
    )
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


def quick_check(conn: sqlite3.Connection, budget: float) -> list[str] | None:
    """SQLite's ``quick_check``: ``[]`` when ok, its first problems, or ``None`` when it
    ran out of ``budget`` seconds (interrupted by a progress handler)."""
    deadline = time.monotonic() + budget
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError as exc:
        if "interrupt" in str(exc):
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)
    return [] if rows == ["ok"] else rows


def scalar(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]
