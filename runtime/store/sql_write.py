"""The write path of the SQLite store: group-committing units of work.

Synchronous, on the store's worker thread (or inline in virtual-time tests), like
:mod:`.sql`. One call of :func:`commit_batch` is one ``BEGIN IMMEDIATE … COMMIT``.

A unit's slot claims are written first, each with ``INSERT OR IGNORE``: a claim that
finds its row taken undoes the unit's earlier claims (nothing else of the unit is written
yet) and the unit fails alone with :class:`FireAlreadyClaimed`, without a savepoint per
unit. The other rows are buffered per table and written with ``executemany``, in unit
order; a unit that deletes jobs first flushes what is buffered, so deletions and writes
keep their order. Every statement is a constant string (``sqlite3`` caches them by text).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from gnomon.runtime.model import wire
from gnomon.runtime.model.events import Event, seal_rows
from gnomon.runtime.model.json_fast import dumps
from gnomon.runtime.model.state import OUTPUT_TAIL_BYTES, JobState, RunRecord
from gnomon.runtime.store import Changes, FireAlreadyClaimed
from gnomon.runtime.store.chain import PUT_META, SET_HEAD, Chain

CrashPoint = Callable[[str], None]

CLAIM = "INSERT OR IGNORE INTO fires (job_id, fire_time, claimed_ts) VALUES (?,?,?)"
UNCLAIM = "DELETE FROM fires WHERE job_id=? AND fire_time=?"
PUT_JOB = (
    "INSERT INTO jobs (id, name, status, owner, parent_id, wake_ts, updated_ts, prune_ts,"
    " tags, depends_on, state) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
    " name=excluded.name, status=excluded.status, owner=excluded.owner,"
    " parent_id=excluded.parent_id, wake_ts=excluded.wake_ts, updated_ts=excluded.updated_ts,"
    " prune_ts=excluded.prune_ts, tags=excluded.tags, depends_on=excluded.depends_on,"
    " state=excluded.state"
)
PUT_RUN = (
    "INSERT INTO runs (run_id, job_id, started_ts, finished_ts, boot_id, record)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET"
    " finished_ts=excluded.finished_ts, record=excluded.record"
)
PUT_EVENT = (
    "INSERT INTO events (seq, type, ts, job_id, event, prev_hash, hash, mac)"
    " VALUES (?,?,?,?,?,?,?,?)"
)
PUT_INBOX = "INSERT INTO inbox (owner, job_id, created_ts, item) VALUES (?,?,?,?)"
DELETE_JOB = (
    "DELETE FROM runs WHERE job_id=?",
    "DELETE FROM fires WHERE job_id=?",
    "DELETE FROM jobs WHERE id=?",
)


def iso(t: datetime) -> str:
    """The canonical text of an instant (UTC, microseconds): part of unique keys.
    (``isoformat(timespec="microseconds")``, written as ``isoformat()``, a fifth
    cheaper, with the zero microseconds it leaves out put back.)"""
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    text = t.isoformat()
    return text if t.microsecond else f"{text[:19]}.000000{text[19:]}"


def job_rows(unit: Changes) -> list[tuple[Any, ...]]:
    """The ``jobs`` rows of ``unit``, each with its wake time from ``unit.wakes`` (a live
    job without one: due at once, see :class:`~gnomon.runtime.store.Changes`)."""
    wakes = unit.wakes or [None if s.status.terminal else s.updated_at for s in unit.jobs]
    return [
        _job_row(state, None if wake is None else wake.timestamp())
        for state, wake in zip(unit.jobs, wakes, strict=True)
    ]


def _job_row(state: JobState, wake: float | None) -> tuple[Any, ...]:
    spec = state.spec
    prune = None
    if state.status.terminal and state.finished_at is not None:
        prune = state.finished_at.timestamp() + spec.ttl
    return (
        state.id,
        spec.name,
        state.status._value_,
        str(state.owner),
        state.parent_id,
        wake,
        state.updated_at.timestamp(),
        prune,
        dumps(spec.tags) if spec.tags else "{}",
        dumps(list(state.depends_on_ids)) if state.dependencies else "[]",
        wire.to_json(state),
    )


def capped(run: RunRecord) -> RunRecord:
    """``run`` with its output cut to the last :data:`OUTPUT_TAIL_BYTES`."""
    if len(run.output) * 4 <= OUTPUT_TAIL_BYTES:  # UTF-8 is at most 4 bytes a character
        return run
    data = run.output.encode("utf-8", "replace")
    if len(data) <= OUTPUT_TAIL_BYTES:
        return run
    tail = data[-OUTPUT_TAIL_BYTES:].decode("utf-8", "ignore")
    return attrs.evolve(run, output=tail)


def _run_row(run: RunRecord, boot_id: str) -> tuple[Any, ...]:
    run = capped(run)
    finished = None if run.finished_at is None else run.finished_at.timestamp()
    started = run.started_at.timestamp()
    return (run.run_id, run.job_id, started, finished, boot_id, wire.to_json(run))


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back an open transaction; a failing rollback (the disk gone) leaves the error
    that caused it to propagate instead of its own."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def delete_job(cur: sqlite3.Cursor | sqlite3.Connection, job_id: str) -> None:
    """Delete a job with its runs and slot claims (inside an open transaction)."""
    for statement in DELETE_JOB:
        cur.execute(statement, (job_id,))


@attrs.define
class _Rows:
    """Rows of one transaction not written yet, per table, in unit order."""

    jobs: list[tuple[Any, ...]] = attrs.Factory(list)
    runs: list[tuple[Any, ...]] = attrs.Factory(list)
    events: list[tuple[Any, ...]] = attrs.Factory(list)
    inbox: list[tuple[Any, ...]] = attrs.Factory(list)

    def flush(self, cur: sqlite3.Cursor) -> None:
        for statement, rows in (
            (PUT_JOB, self.jobs),
            (PUT_RUN, self.runs),
            (PUT_EVENT, self.events),
            (PUT_INBOX, self.inbox),
        ):
            if rows:
                cur.executemany(statement, rows)
                rows.clear()


def _claim(cur: sqlite3.Cursor, unit: Changes, now: float) -> FireAlreadyClaimed | None:
    """Claim the unit's slots; on a taken one, undo the others and return the error."""
    taken: list[tuple[str, str]] = []
    for job_id, fire_time in unit.claims:
        key = (job_id, iso(fire_time))
        if cur.execute(CLAIM, (*key, now)).rowcount != 1:
            for earlier in taken:
                cur.execute(UNCLAIM, earlier)
            return FireAlreadyClaimed(f"slot {key[1]} of job {job_id} was already claimed")
        taken.append(key)
    return None


def _apply(
    cur: sqlite3.Cursor, unit: Changes, chain: Chain, boot_id: str, rows: _Rows
) -> tuple[Event, ...]:
    """Buffer the rest of one unit (its claims are written) and seal its events."""
    if unit.jobs:
        rows.jobs.extend(job_rows(unit))
    if unit.runs:
        rows.runs.extend([_run_row(run, boot_id) for run in unit.runs])
    if unit.deleted_jobs:
        rows.flush(cur)
        for job_id in unit.deleted_jobs:
            delete_job(cur, job_id)
    for item in unit.inbox:
        created = item.created_at.timestamp()
        rows.inbox.append((item.owner, item.job_id, created, item.stored()))
    if not unit.events:
        return ()
    sealed = seal_rows(unit.events, chain.seq, chain.hash, chain.mac, rows.events)
    chain.seq, chain.hash = sealed[-1].seq, sealed[-1].hash
    return sealed


def commit_batch(
    conn: sqlite3.Connection,
    units: Sequence[Changes],
    chain: Chain,
    boot_id: str,
    crash_point: CrashPoint,
) -> list[tuple[Event, ...] | FireAlreadyClaimed]:
    """Group commit: every unit in one transaction; a unit whose claim exists writes
    nothing and gets its :class:`FireAlreadyClaimed`, the others commit.

    ``chain`` advances only for committed units, and the head anchor is rewritten in the
    same transaction. A batch of empty units (the health probe) writes a timestamp, so
    it proves that the disk takes a write. Any other error rolls the whole transaction
    back, rewinds ``chain`` to where it was, and propagates.
    """
    start_seq, start_hash = chain.seq, chain.hash  # to rewind to
    results: list[tuple[Event, ...] | FireAlreadyClaimed] = []
    rows = _Rows()
    now = time.time()
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        for index, unit in enumerate(units):
            conflict = _claim(cur, unit, now) if unit.claims else None
            if conflict is None:
                results.append(_apply(cur, unit, chain, boot_id, rows))
            else:
                results.append(conflict)
            if index == 0:
                crash_point("mid_group_commit")
        rows.flush(cur)
        if chain.seq != start_seq:
            cur.execute(SET_HEAD, (chain.head_text(),))
        elif not any(units):  # a probe: prove that a write reaches the disk
            cur.execute(PUT_META, ("probe_ts", repr(now)))
        cur.execute("COMMIT")
    except BaseException:
        rollback(conn)
        chain.seq, chain.hash = start_seq, start_hash
        raise
    finally:
        cur.close()
    if any(unit.claims for unit in units):
        crash_point("after_claim_commit")
    return results
