"""The PostgreSQL store's hash chain anchors (design: ``docs/store.md``, "The hash chain").

The chain is the SQLite store's (:mod:`.chain`): ``hash = sha256(prev_hash + canonical
JSON)``, each row MAC'd with the home's audit key, both ends anchored. The head anchor is
the one-row ``chain_head`` table rather than a ``meta`` entry: every transaction that
seals events locks it (:mod:`.pg_write`), which is what keeps ``seq`` gap-free and in
commit order with several writers. ``chain_first``, ``chain_keyed_from`` and
``chain_key_id`` stay in ``meta``. The audit key never leaves the process: MACs are
computed in Python. Synchronous; no trio.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.events import GENESIS_HASH
from gnomon.runtime.store.chain import Anchor, Anchors, key_id

Conn = psycopg.Connection[Any]
PUT_META = (
    "INSERT INTO meta (key, value) VALUES (%s, %s)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def read_anchors(conn: Conn) -> Anchors:
    """The anchors as :class:`~gnomon.runtime.store.audit.Verifier` reads them."""
    rows = dict(
        conn.execute(
            "SELECT key, value FROM meta WHERE key = ANY(%s)",
            (["chain_first", "chain_keyed_from", "chain_key_id"],),
        ).fetchall()
    )
    head = conn.execute("SELECT seq, hash, mac FROM chain_head WHERE id=1").fetchone()
    keyed = rows.get("chain_keyed_from")
    return Anchors(
        first=Anchor.parse(rows.get("chain_first")),
        head=None if head is None else Anchor(int(head[0]), str(head[1]), str(head[2])),
        keyed_from=int(keyed) if keyed is not None and keyed.isdigit() else None,
        key_id=rows.get("chain_key_id"),
    )


def open_chain(
    conn: Conn, key: bytes, where: str, *, rekey: bool = False, expect_anchors: bool = False
) -> int:
    """Anchor the chain if it never was (a new database, or ``rekey``), check the key
    otherwise; the committed head's ``seq``.

    Raises:
        StoreUnavailable: the chain is keyed with another key, or its anchors are gone
            while ``expect_anchors`` (the messages start as the SQLite store's).
    """
    with conn.transaction():
        conn.execute("LOCK TABLE chain_head IN EXCLUSIVE MODE")
        anchors = read_anchors(conn)
        used = conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None
        if anchors.key_id is None and expect_anchors and used and not rekey:
            raise StoreUnavailable(
                f"audit anchors missing: {where} has no chain anchors although its home has"
                " an audit key (the anchors were deleted, or another database is named)",
                recoverable=False,
            )
        if anchors.key_id is not None and not rekey:
            if anchors.key_id != key_id(key):
                raise StoreUnavailable(
                    f"audit key mismatch: {where}'s events are keyed with audit key"
                    f" {anchors.key_id}, not {key_id(key)}",
                    recoverable=False,
                )
            return anchors.head.seq if anchors.head is not None else 0
        head = anchors.head or Anchor(0, GENESIS_HASH)
        made = Anchor.made(key, "head", head.seq, head.hash)
        conn.execute(
            "INSERT INTO chain_head VALUES (1, %s, %s, %s) ON CONFLICT (id) DO UPDATE"
            " SET mac = excluded.mac",
            (made.seq, made.hash, made.mac),
        )
        old = anchors.first
        first = Anchor.made(
            key, "first", *((old.seq, old.hash) if old else (head.seq + 1, head.hash))
        )
        for row in (
            ("chain_first", first.text()),
            ("chain_keyed_from", str(head.seq + 1)),
            ("chain_key_id", key_id(key)),
        ):
            conn.execute(PUT_META, row)
        return head.seq


def prune_events(conn: Conn, key: bytes, through_seq: int) -> int:
    """Delete the events up to ``through_seq`` and move the first anchor past them, in
    one transaction; how many rows went. Never deletes past the committed head.

    Raises:
        ValueError: ``through_seq`` is beyond the head, or its event is not in the table.
    """
    with conn.transaction():
        head = conn.execute("SELECT seq FROM chain_head WHERE id=1 FOR UPDATE").fetchone()
        if head is None or through_seq > int(head[0]):
            raise ValueError(f"cannot prune past the head (seq {head[0] if head else 0})")
        row = conn.execute("SELECT hash FROM events WHERE seq=%s", (through_seq,)).fetchone()
        if row is None:
            raise ValueError(f"event {through_seq} is not in the table")
        first = Anchor.made(key, "first", through_seq + 1, str(row[0]))
        count = conn.execute("DELETE FROM events WHERE seq <= %s", (through_seq,)).rowcount
        conn.execute(PUT_META, ("chain_first", first.text()))
    return int(count)
