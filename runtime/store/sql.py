"""The SQL of the SQLite store: synchronous functions over one ``sqlite3.Connection``.

They run on the store's worker thread (or inline in virtual-time tests), one at a time.
Nothing here knows about trio. Writes happen only inside :func:`commit_batch`.
"""

from __future__ import annotations

import fnmatch
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import attrs

from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import GENESIS_HASH, Event, seal
from gnomon.runtime.model.state import OUTPUT_TAIL_BYTES, JobState, RunRecord
from gnomon.runtime.store import (
    Changes,
    EventQuery,
    FireAlreadyClaimed,
    InboxItem,
    JobQuery,
    JobRow,
)

SCHEMA_VERSION = 1
CrashPoint = Callable[[str], None]


def connect(path: str, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open the database (WAL, explicit transactions) and migrate it."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


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
        conn.executescript(
            "BEGIN;"
            + files(__package__).joinpath("schema.sql").read_text()
            + "INSERT OR REPLACE INTO meta VALUES ('schema_version', '1'); COMMIT;"
        )


def iso(t: datetime) -> str:
    """The canonical text of an instant (UTC, microseconds): part of unique keys."""
    return t.astimezone(UTC).isoformat(timespec="microseconds")


# -- the hash chain ------------------------------------------------------------------------


@attrs.define
class Chain:
    """The last sealed event: the next one gets ``seq + 1`` and links to ``hash``."""

    seq: int = 0
    hash: str = GENESIS_HASH

    def copy(self) -> Chain:
        return Chain(self.seq, self.hash)

    def restore(self, other: Chain) -> None:
        self.seq, self.hash = other.seq, other.hash


def load_chain(conn: sqlite3.Connection) -> Chain:
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    if row is not None:
        return Chain(int(row[0]), str(row[1]))
    anchor = conn.execute("SELECT value FROM meta WHERE key='chain_anchor'").fetchone()
    if anchor is not None:
        seq, digest = json.loads(anchor[0])
        return Chain(int(seq), str(digest))
    return Chain()


# -- writing -------------------------------------------------------------------------------


def _wake(state: JobState) -> float | None:
    """No later than the job's earliest timer (activating early is harmless)."""
    if state.status.terminal:
        return None
    times = [state.next_fire_at, state.expires_at]
    for fire in state.fires:
        times.append(fire.retry_at)
        if fire.wait is not None:
            times.append(fire.wait.deadline)
    known = [t.timestamp() for t in times if t is not None]
    return min(known) if known else None


def _put_job(conn: sqlite3.Connection, state: JobState) -> None:
    prune = None
    if state.status.terminal and state.finished_at is not None:
        prune = state.finished_at.timestamp() + state.spec.ttl
    conn.execute(
        "INSERT OR REPLACE INTO jobs (id, name, status, owner, parent_id, wake_ts, updated_ts,"
        " prune_ts, tags, depends_on, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            state.id,
            state.spec.name,
            state.status.value,
            str(state.owner),
            state.parent_id,
            _wake(state),
            state.updated_at.timestamp(),
            prune,
            json.dumps(state.spec.tags),
            json.dumps(list(state.depends_on_ids)),
            wire.to_json(state),
        ),
    )


def _capped(run: RunRecord) -> RunRecord:
    data = run.output.encode("utf-8", "replace")
    if len(data) <= OUTPUT_TAIL_BYTES:
        return run
    tail = data[-OUTPUT_TAIL_BYTES:].decode("utf-8", "ignore")
    return attrs.evolve(run, output=tail)


def _put_run(conn: sqlite3.Connection, run: RunRecord, boot_id: str) -> None:
    run = _capped(run)
    finished = None if run.finished_at is None else run.finished_at.timestamp()
    conn.execute(
        "INSERT INTO runs (run_id, job_id, started_ts, finished_ts, boot_id, record)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET"
        " finished_ts=excluded.finished_ts, record=excluded.record",
        (run.run_id, run.job_id, run.started_at.timestamp(), finished, boot_id, wire.to_json(run)),
    )


def _delete_job(conn: sqlite3.Connection, job_id: str) -> None:
    for table, column in (("runs", "job_id"), ("fires", "job_id"), ("jobs", "id")):
        conn.execute(f"DELETE FROM {table} WHERE {column}=?", (job_id,))


def apply_changes(
    conn: sqlite3.Connection, changes: Changes, chain: Chain, boot_id: str
) -> tuple[Event, ...]:
    """Write one unit (inside an open transaction).

    Raises:
        FireAlreadyClaimed: a claim exists (the caller rolls the unit back).
    """
    for job_id, fire_time in changes.claims:
        try:
            conn.execute(
                "INSERT INTO fires (job_id, fire_time, claimed_ts) VALUES (?,?,?)",
                (job_id, iso(fire_time), datetime.now(UTC).timestamp()),
            )
        except sqlite3.IntegrityError:
            raise FireAlreadyClaimed(
                f"slot {iso(fire_time)} of job {job_id} was already claimed"
            ) from None
    for state in changes.jobs:
        _put_job(conn, state)
    for run in changes.runs:
        _put_run(conn, run, boot_id)
    for job_id in changes.deleted_jobs:
        _delete_job(conn, job_id)
    for item in changes.inbox:
        conn.execute(
            "INSERT INTO inbox (owner, job_id, created_ts, item) VALUES (?,?,?,?)",
            (item.owner, item.job_id, item.created_at.timestamp(), json.dumps(item.item)),
        )
    sealed = []
    for draft in changes.events:
        event = seal(draft, chain.seq + 1, chain.hash)
        conn.execute(
            "INSERT INTO events (seq, type, ts, job_id, event, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                event.seq,
                event.type.value,
                event.timestamp.timestamp(),
                event.job_id,
                wire.to_json(event),
                event.prev_hash,
                event.hash,
            ),
        )
        chain.seq, chain.hash = event.seq, event.hash
        sealed.append(event)
    return tuple(sealed)


def commit_batch(
    conn: sqlite3.Connection,
    units: Sequence[Changes],
    chain: Chain,
    boot_id: str,
    crash_point: CrashPoint,
) -> list[tuple[Event, ...] | FireAlreadyClaimed]:
    """Group commit: every unit in one transaction, each in its own savepoint, so a unit
    whose claim exists is rolled back alone. ``chain`` advances only for committed units."""
    start = chain.copy()
    results: list[tuple[Event, ...] | FireAlreadyClaimed] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for index, unit in enumerate(units):
            conn.execute(f"SAVEPOINT u{index}")
            mark = chain.copy()
            try:
                results.append(apply_changes(conn, unit, chain, boot_id))
            except FireAlreadyClaimed as exc:
                conn.execute(f"ROLLBACK TO u{index}")
                chain.restore(mark)
                results.append(exc)
            conn.execute(f"RELEASE u{index}")
            if index == 0:
                crash_point("mid_group_commit")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        chain.restore(start)
        raise
    if any(unit.claims for unit in units):
        crash_point("after_claim_commit")
    return results


# -- reading -------------------------------------------------------------------------------


def get_job(conn: sqlite3.Connection, job_id: str) -> JobState | None:
    row = conn.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
    return None if row is None else wire.from_json(row[0], JobState)


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


def list_jobs(conn: sqlite3.Connection, query: JobQuery) -> list[JobState]:
    where, args = [], []
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
    sql = "SELECT tags, state FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
    out = []
    for tags, state in conn.execute(sql, args):
        if _tags_match(json.loads(tags), query.tags):
            out.append(wire.from_json(state, JobState))
            if len(out) >= query.limit:
                break
    return out


def runs_of(conn: sqlite3.Connection, job_id: str, limit: int) -> list[RunRecord]:
    rows = conn.execute(
        "SELECT record FROM runs WHERE job_id=? ORDER BY started_ts DESC, run_id DESC LIMIT ?",
        (job_id, limit),
    )
    return [wire.from_json(r[0], RunRecord) for r in rows]


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
    sql = f"SELECT type, event FROM events WHERE {' AND '.join(where)} ORDER BY seq"
    out = []
    for type_, text in conn.execute(sql, args):
        if query.types and not any(fnmatch.fnmatchcase(type_, p) for p in query.types):
            continue
        out.append(wire.from_json(text, Event))
        if len(out) >= query.limit:
            break
    return out


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
                _delete_job(conn, job_id)
            conn.execute("COMMIT")
        except BaseException:  # never leave the shared connection inside a transaction
            if conn.in_transaction:
                conn.execute("ROLLBACK")
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


def inbox(
    conn: sqlite3.Connection, owner: str, unread_only: bool
) -> list[tuple[int, InboxItem, bool]]:
    sql = "SELECT id, job_id, created_ts, item, read_ts FROM inbox WHERE owner=?"
    if unread_only:
        sql += " AND read_ts IS NULL"
    sql += " ORDER BY (read_ts IS NOT NULL), id"
    return [
        (
            r[0],
            InboxItem(
                owner=owner,
                job_id=r[1],
                created_at=datetime.fromtimestamp(r[2], UTC),
                item=json.loads(r[3]),
            ),
            r[4] is not None,
        )
        for r in conn.execute(sql, (owner,))
    ]


def ack_inbox(conn: sqlite3.Connection, owner: str, ids: Sequence[int], now: datetime) -> int:
    cur = conn.executemany(
        "UPDATE inbox SET read_ts=? WHERE owner=? AND id=? AND read_ts IS NULL",
        [(now.timestamp(), owner, i) for i in ids],
    )
    return cur.rowcount


def scalar(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]
