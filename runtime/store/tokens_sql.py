"""The SQL of tokens and daemon switches: synchronous functions over one connection.

Token rows hold the record as wire JSON and, in their own column, the token's hash (the
secret itself is never stored). Switches (``agents.enabled`` set by ``gnomon agents``)
live in the ``meta`` table under ``switch.<name>``. Outside :func:`put_tokens`, each
function is one statement, so it commits on its own (the connection is in autocommit
mode outside group commits).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from gnomon.runtime.model import wire
from gnomon.runtime.model.tokens import TokenRecord


def put_token(conn: sqlite3.Connection, record: TokenRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO tokens (id, hash, revoked_ts, record) VALUES (?,?,?,?)",
        (
            record.id,
            record.hash,
            None if record.revoked_at is None else record.revoked_at.timestamp(),
            wire.to_json(record),
        ),
    )


def tokens(conn: sqlite3.Connection) -> list[TokenRecord]:
    rows = conn.execute("SELECT record FROM tokens ORDER BY rowid")
    return [wire.from_json(r[0], TokenRecord) for r in rows]


def get_switch(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (f"switch.{name}",)).fetchone()
    return None if row is None else str(row[0])


def set_switch(conn: sqlite3.Connection, name: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"switch.{name}", value))


def update_switch(conn: sqlite3.Connection, name: str, change: Callable[[str | None], str]) -> str:
    """Switch ``name`` replaced by ``change(current)`` in one transaction; the new value.
    Whatever ``change`` raises rolls it back and propagates."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        value = change(get_switch(conn, name))
        set_switch(conn, name, value)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return value


def put_tokens(conn: sqlite3.Connection, records: list[TokenRecord]) -> None:
    """Store ``records`` (new tokens or revocations) in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for record in records:
            put_token(conn, record)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
