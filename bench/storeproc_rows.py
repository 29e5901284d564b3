"""The second prototype of :mod:`bench.storeproc`: rows pre-encoded on the trio thread.

Pickling a unit of work's attrs objects costs the parent about as much as the encoding it
moves (``python -m bench.storeproc_run ipc``), so here the parent encodes each unit with
the store's own encoders — ``sql_write.job_rows`` and ``_run_row`` (the state and run
texts), ``iso`` (the claims' keys), the inbox item's ``stored()`` and each event's
canonical text (``events._canonical_text``, with ``seq`` left as a hole to fill) — and
sends plain tuples of strings and numbers. The child does what ``sql_write.commit_batch``
does with them, with its statements: the claims first (``INSERT OR IGNORE``, a taken one
undoes its unit's earlier claims and refuses the unit alone), the rows buffered per table
and written by ``executemany`` in unit order (deletions flush first), each event sealed
(its text completed with its ``seq``, sha256 over ``prev_hash`` + text, the row's JSON with
``prev_hash`` and ``hash`` added, the MAC), the head anchor rewritten, and a probe's
timestamp when nothing else was written. The answer is each unit's links, as in
:mod:`bench.storeproc`.

What stays on the trio thread is the encoding; what moves is SQLite, sealing and the
transaction. A prototype for benchmarks (the same limits as :mod:`bench.storeproc`).
"""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from gnomon.runtime.model.events import _canonical_text
from gnomon.runtime.store import Changes, FireAlreadyClaimed
from gnomon.runtime.store.chain import PUT_META, SET_HEAD, Chain
from gnomon.runtime.store.sql_write import (
    CLAIM,
    PUT_EVENT,
    PUT_INBOX,
    PUT_JOB,
    PUT_RUN,
    UNCLAIM,
    _run_row,
    delete_job,
    iso,
    job_rows,
    rollback,
)

#: What marks ``seq`` in an event's canonical text (``"seq":%s``, between the payload and
#: the status, whose values cannot hold it).
_HOLE = ',"seq":0,"status":'
Encoded = tuple[Any, ...]


def encode_unit(unit: Changes, boot_id: str) -> Encoded:
    """``unit`` as plain rows (the parent's half; the encoders are the store's)."""
    events = []
    for draft in unit.events:
        text = _canonical_text(draft, 0, draft.timestamp.isoformat())
        cut = text.rindex(_HOLE)
        events.append(
            (
                draft.type._value_,
                draft.timestamp.timestamp(),
                draft.job_id,
                text[: cut + 7],
                text[cut + 8 :],
            )
        )
    return (
        [(job_id, iso(t)) for job_id, t in unit.claims],
        list(job_rows(unit)),
        [_run_row(run, boot_id) for run in unit.runs],
        list(unit.deleted_jobs),
        [(i.owner, i.job_id, i.created_at.timestamp(), i.stored()) for i in unit.inbox],
        events,
    )


def _claim(cur: sqlite3.Cursor, claims: list[tuple[str, str]], now: float) -> str | None:
    taken: list[tuple[str, str]] = []
    for key in claims:
        if cur.execute(CLAIM, (*key, now)).rowcount != 1:
            for earlier in taken:
                cur.execute(UNCLAIM, earlier)
            return f"slot {key[1]} of job {key[0]} was already claimed"
        taken.append(key)
    return None


def _flush(cur: sqlite3.Cursor, rows: dict[str, list[Any]]) -> None:
    for statement, buffered in rows.items():
        if buffered:
            cur.executemany(statement, buffered)
            buffered.clear()


def _seal(encoded: Encoded, chain: Chain, out: list[Any]) -> list[tuple[int, str, str]]:
    links = []
    mac = chain.mac
    for kind, ts, job_id, head, tail in encoded[5]:
        seq, prev = chain.seq + 1, chain.hash
        text = f"{head}{seq}{tail}"
        digest = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
        row = f'{text[:-1]},"prev_hash":"{prev}","hash":"{digest}"}}'
        out.append((seq, kind, ts, job_id, row, prev, digest, mac(digest)))
        chain.seq, chain.hash = seq, digest
        links.append((seq, prev, digest))
    return links


def commit_rows(conn: sqlite3.Connection, units: Sequence[Encoded], chain: Chain) -> list[Any]:
    """One transaction of pre-encoded units; each unit's links or ``("claimed", msg)``.
    Any error rolls back, rewinds ``chain`` and propagates (as ``commit_batch``)."""
    start = chain.seq, chain.hash
    rows: dict[str, list[Any]] = {PUT_JOB: [], PUT_RUN: [], PUT_EVENT: [], PUT_INBOX: []}
    answers: list[Any] = []
    now = time.time()
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        for encoded in units:
            refused = _claim(cur, encoded[0], now) if encoded[0] else None
            if refused is not None:
                answers.append(("claimed", refused))
                continue
            rows[PUT_JOB].extend(encoded[1])
            rows[PUT_RUN].extend(encoded[2])
            if encoded[3]:
                _flush(cur, rows)
                for job_id in encoded[3]:
                    delete_job(cur, job_id)
            rows[PUT_INBOX].extend(encoded[4])
            answers.append(_seal(encoded, chain, rows[PUT_EVENT]))
        _flush(cur, rows)
        if chain.seq != start[0]:
            cur.execute(SET_HEAD, (chain.head_text(),))
        elif not any(any(part) for e in units for part in e):
            cur.execute(PUT_META, ("probe_ts", repr(now)))
        cur.execute("COMMIT")
    except BaseException:
        rollback(conn)
        chain.seq, chain.hash = start
        raise
    finally:
        cur.close()
    return answers


def dumps_units(units: Sequence[Changes], boot_id: str) -> bytes:
    """The parent's whole half: encode and pickle."""
    return pickle.dumps([encode_unit(u, boot_id) for u in units], pickle.HIGHEST_PROTOCOL)


def _as_results(answers: list[Any]) -> list[Any]:
    return [FireAlreadyClaimed(a[1]) if isinstance(a, tuple) else a for a in answers]
