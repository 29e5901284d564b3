"""The write path of the PostgreSQL store: one transaction per batch of units.

Synchronous, on the store's writer connection (a worker thread, or inline in virtual-time
tests). One call of :func:`commit_batch` is one transaction:

1. the **fence** (if the store has one) is called for each unit, before anything of it
   is written; raising :class:`UnitRejected` refuses that unit alone;
2. every slot claim of the remaining units is inserted at once (``INSERT … ON CONFLICT
   DO NOTHING RETURNING``: a unique violation would abort a PostgreSQL transaction, unlike
   SQLite's ``OR IGNORE``); a unit gets its claims only if each was new and not taken by
   an earlier unit of the batch, otherwise it fails alone with
   :class:`FireAlreadyClaimed`, and claims no accepted unit owns are deleted again;
3. job states, runs, deletions and inbox items are written in unit order
   (``executemany``, pipelined by psycopg);
4. last, the chain's head row is locked (``SELECT … FOR UPDATE``), the events of the
   accepted units are sealed after it in unit order, inserted, and the head moved — so
   ``seq`` is gap-free and commit order is ``seq`` order whoever writes, and the lock is
   held only for the sealing and the commit. On a shared database (a cluster) the
   transaction also sends ``NOTIFY gnomon_events, '<new head seq>'`` (delivered at its
   commit), which wakes every node's event tail (``runtime/cluster/tail.py``).

Any other error rolls the whole transaction back and propagates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import psycopg

from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model.events import Event, seal_rows
from gnomon.runtime.store import Changes, FireAlreadyClaimed, UnitRejected
from gnomon.runtime.store.chain import EventMac, anchor_text
from gnomon.runtime.store.sql_write import _run_row, iso, job_rows

Conn = psycopg.Connection[Any]
CrashPoint = Callable[[str], None]
#: Called in each commit's transaction before a unit is written; raises to refuse it.
Fence = Callable[[Conn, Changes], None]
UnitResult = tuple[Event, ...] | GnomonError

CLAIM = (
    "INSERT INTO fires (job_id, fire_time, claimed_ts)"
    " SELECT j, f, %s::float8 FROM unnest(%s::text[], %s::text[]) AS c(j, f)"
    " ON CONFLICT DO NOTHING RETURNING job_id, fire_time"
)
UNCLAIM = (
    "DELETE FROM fires WHERE (job_id, fire_time) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
)
PUT_JOB = (
    "INSERT INTO jobs (id, name, status, owner, parent_id, wake_ts, updated_ts, prune_ts,"
    " tags, depends_on, state) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id)"
    " DO UPDATE SET name=excluded.name, status=excluded.status, owner=excluded.owner,"
    " parent_id=excluded.parent_id, wake_ts=excluded.wake_ts, updated_ts=excluded.updated_ts,"
    " prune_ts=excluded.prune_ts, tags=excluded.tags, depends_on=excluded.depends_on,"
    " state=excluded.state"
)
PUT_RUN = (
    "INSERT INTO runs (run_id, job_id, started_ts, finished_ts, boot_id, record)"
    " VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (run_id) DO UPDATE SET"
    " finished_ts=excluded.finished_ts, record=excluded.record"
)
PUT_EVENT = (
    "INSERT INTO events (seq, type, ts, job_id, event, prev_hash, hash, mac)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
)
PUT_INBOX = "INSERT INTO inbox (owner, job_id, created_ts, item) VALUES (%s,%s,%s,%s)"
DELETE_JOB = (
    "DELETE FROM runs WHERE job_id=%s",
    "DELETE FROM fires WHERE job_id=%s",
    "DELETE FROM jobs WHERE id=%s",
)
LOCK_HEAD = "SELECT seq, hash FROM chain_head WHERE id=1 FOR UPDATE"
SET_HEAD = "UPDATE chain_head SET seq=%s, hash=%s, mac=%s WHERE id=1"
#: The NOTIFY channel of committed events (payload: the new head's ``seq``).
EVENTS_CHANNEL = "gnomon_events"
NOTIFY_EVENTS = "SELECT pg_notify(%s, %s)"
PROBE = (
    "INSERT INTO meta VALUES ('probe_ts', %s) ON CONFLICT (key) DO UPDATE SET value=excluded.value"
)


@attrs.define
class _Rows:
    """Rows of one transaction not written yet, per table, in unit order."""

    jobs: list[tuple[Any, ...]] = attrs.Factory(list)
    runs: list[tuple[Any, ...]] = attrs.Factory(list)
    inbox: list[tuple[Any, ...]] = attrs.Factory(list)

    def flush(self, cur: psycopg.Cursor[Any]) -> None:
        for statement, rows in (
            (PUT_JOB, self.jobs),
            (PUT_RUN, self.runs),
            (PUT_INBOX, self.inbox),
        ):
            if rows:
                cur.executemany(statement, rows)
                rows.clear()


def delete_job(cur: psycopg.Cursor[Any] | Conn, job_id: str) -> None:
    """Delete a job with its runs and slot claims (inside an open transaction)."""
    for statement in DELETE_JOB:
        cur.execute(statement, (job_id,))


def _fenced(conn: Conn, units: Sequence[Changes], fence: Fence | None) -> list[GnomonError | None]:
    out: list[GnomonError | None] = []
    for unit in units:
        try:
            if fence is not None:
                fence(conn, unit)
            out.append(None)
        except UnitRejected as exc:
            out.append(exc)
    return out


def _claim(
    cur: psycopg.Cursor[Any], units: Sequence[Changes], refused: list[GnomonError | None]
) -> None:
    """Claim every slot of the units not refused yet (see the module docstring)."""
    wanted: dict[tuple[str, str], None] = {}
    for unit, no in zip(units, refused, strict=True):
        if no is None:
            wanted.update(((job_id, iso(at)), None) for job_id, at in unit.claims)
    if not wanted:
        return
    jobs, times = [k[0] for k in wanted], [k[1] for k in wanted]
    new = {(r[0], r[1]) for r in cur.execute(CLAIM, (time.time(), jobs, times)).fetchall()}
    owned: set[tuple[str, str]] = set()
    for index, unit in enumerate(units):
        if refused[index] is not None or not unit.claims:
            continue
        keys = [(job_id, iso(at)) for job_id, at in unit.claims]
        lost = next((k for k in keys if k not in new or k in owned), None)
        if lost is None:
            owned.update(keys)
        else:
            refused[index] = FireAlreadyClaimed(
                f"slot {lost[1]} of job {lost[0]} was already claimed"
            )
    if stray := [k for k in new if k not in owned]:
        cur.execute(UNCLAIM, ([k[0] for k in stray], [k[1] for k in stray]))


def _write(cur: psycopg.Cursor[Any], unit: Changes, boot_id: str, rows: _Rows) -> None:
    """Buffer one accepted unit's rows (deletions flush first, keeping their place)."""
    rows.jobs.extend(job_rows(unit))
    rows.runs.extend(_run_row(run, boot_id) for run in unit.runs)
    if unit.deleted_jobs:
        rows.flush(cur)
        for job_id in unit.deleted_jobs:
            delete_job(cur, job_id)
    for item in unit.inbox:
        created = item.created_at.timestamp()
        rows.inbox.append((item.owner, item.job_id, created, item.stored()))


def _seal(
    cur: psycopg.Cursor[Any], units: Sequence[Changes], results: list[UnitResult], mac: EventMac
) -> int | None:
    """Seal the accepted units' events after the locked head; the new head's ``seq``."""
    if not any(u.events for u, r in zip(units, results, strict=True) if r == ()):
        return None
    head = cur.execute(LOCK_HEAD).fetchone()
    assert head is not None, "the chain_head row is created with the schema"
    seq, digest = int(head[0]), str(head[1])
    rows: list[tuple[Any, ...]] = []
    for index, unit in enumerate(units):
        if results[index] != () or not unit.events:
            continue
        sealed = seal_rows(unit.events, seq, digest, mac, rows)
        seq, digest = sealed[-1].seq, sealed[-1].hash
        results[index] = sealed
    cur.executemany(PUT_EVENT, rows)
    cur.execute(SET_HEAD, (seq, digest, mac(anchor_text("head", seq, digest)).hex()))
    return seq


def commit_batch(
    conn: Conn,
    units: Sequence[Changes],
    mac: EventMac,
    boot_id: str,
    crash_point: CrashPoint,
    fence: Fence | None = None,
    notify: bool = False,
) -> tuple[list[UnitResult], int | None]:
    """Group commit (see the module docstring): each unit's sealed events or the error
    that refused it, and the new head's ``seq`` (``None`` when no event was sealed).
    ``notify``: NOTIFY :data:`EVENTS_CHANNEL` with the new head when events were sealed.

    A batch of empty units (the health probe) writes a timestamp in ``meta``.
    """
    with conn.transaction(), conn.cursor() as cur:
        refused = _fenced(conn, units, fence)
        _claim(cur, units, refused)
        rows = _Rows()
        results: list[UnitResult] = []
        for index, unit in enumerate(units):
            error = refused[index]
            if error is None:
                _write(cur, unit, boot_id, rows)
            results.append(() if error is None else error)
            if index == 0:
                crash_point("mid_group_commit")
        rows.flush(cur)
        head = _seal(cur, units, results, mac)
        if notify and head is not None:
            cur.execute(NOTIFY_EVENTS, (EVENTS_CHANNEL, str(head)))
        if head is None and not any(units):
            cur.execute(PROBE, (repr(time.time()),))
    if any(unit.claims for unit in units):
        crash_point("after_claim_commit")
    return results, head


def prune(conn: Conn, now: float, batch: int) -> list[str]:
    """Delete up to ``batch`` terminal jobs whose TTL has passed (with runs and slots), in
    one transaction (rolled back whole if it fails)."""
    with conn.transaction(), conn.cursor() as cur:
        ids = [
            str(r[0])
            for r in cur.execute(
                "SELECT id FROM jobs WHERE prune_ts IS NOT NULL AND prune_ts <= %s LIMIT %s",
                (now, batch),
            )
        ]
        for statement in DELETE_JOB:
            cur.execute(statement.replace("=%s", " = ANY(%s)"), (ids,))
    return ids
