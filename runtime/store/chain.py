"""The event log's keyed, anchored hash chain (design: ``docs/store.md``, "The hash chain").

Each event keeps ``hash = sha256(prev_hash + canonical JSON)`` (:mod:`gnomon.runtime.model
.events`), and its row gets ``mac = HMAC-SHA256(key, hash)`` with the home's audit key,
which lives outside the database (``<home>/audit.key``). Both ends of the chain are
anchored in ``meta``, each anchor MAC'd:

- ``chain_first``: the first event the table should hold and its ``prev_hash`` (moved by
  event pruning in the same transaction as the deletion);
- ``chain_head``: the last committed event's ``seq`` and ``hash``, rewritten by every
  transaction that seals events;
- ``chain_keyed_from``: the first ``seq`` with a ``mac`` (older events, written before
  the chain was keyed or under a previous key, are checked as a plain sha256 chain — the
  first keyed event links to them, so they cannot be re-chained either);
- ``chain_key_id``: a fingerprint of the key, so a wrong ``audit.key`` is refused at start.

Synchronous, on the store's thread; no trio.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Sequence

import attrs

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.events import GENESIS_HASH

PUT_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)"
#: The head anchor, rewritten in place by every transaction that seals events (a REPLACE
#: would rewrite the key's index page too: one more page in the WAL per transaction).
SET_HEAD = "UPDATE meta SET value=? WHERE key='chain_head'"
ANCHOR_KEYS = ("chain_first", "chain_head", "chain_keyed_from", "chain_key_id")


def key_id(key: bytes) -> str:
    """A fingerprint of ``key`` (safe to store next to the data it protects)."""
    return hashlib.sha256(b"gnomon audit key id\0" + key).hexdigest()[:16]


_IPAD = bytes(b ^ 0x36 for b in range(256))  # RFC 2104's pads, as translation tables
_OPAD = bytes(b ^ 0x5C for b in range(256))


class EventMac:
    """``HMAC-SHA256(key, hash)`` of one event (32 bytes, stored as a BLOB), with the
    key's inner and outer SHA-256 states computed once (RFC 2104): two state copies per
    event, about half of what ``hmac.digest`` costs — the seal is on the fire path."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # SHA-256's block
            key = hashlib.sha256(key).digest()
        padded = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(padded.translate(_IPAD))
        self._outer = hashlib.sha256(padded.translate(_OPAD))

    def __call__(self, text: str) -> bytes:
        """The MAC of ``text`` (ASCII: an event's hash, or an anchor)."""
        inner = self._inner.copy()
        inner.update(text.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def event_mac(key: bytes, digest: str) -> bytes:
    """``HMAC-SHA256(key, hash)`` of one event (see :class:`EventMac`)."""
    return hmac.digest(key, digest.encode("ascii"), "sha256")


def anchor_mac(key: bytes, kind: str, seq: int, digest: str) -> str:
    return hmac.digest(key, anchor_text(kind, seq, digest).encode("ascii"), "sha256").hex()


def anchor_text(kind: str, seq: int, digest: str) -> str:
    """What an anchor's MAC covers."""
    return f"{kind}|{seq}|{digest}"


@attrs.frozen
class Anchor:
    """One end of the chain: ``seq`` and a hash (the first event's ``prev_hash``, or the
    head event's ``hash``), with its MAC."""

    seq: int
    hash: str
    mac: str = ""

    @classmethod
    def made(cls, key: bytes, kind: str, seq: int, digest: str) -> Anchor:
        return cls(seq, digest, anchor_mac(key, kind, seq, digest))

    def valid(self, key: bytes, kind: str) -> bool:
        return hmac.compare_digest(self.mac, anchor_mac(key, kind, self.seq, self.hash))

    def text(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "mac": self.mac})

    @classmethod
    def parse(cls, text: str | None) -> Anchor | None:
        if text is None:
            return None
        try:
            data = json.loads(text)
            return cls(int(data["seq"]), str(data["hash"]), str(data.get("mac", "")))
        except (ValueError, KeyError, TypeError):
            return cls(-1, "", "")  # unreadable: fails its MAC check


@attrs.define
class Chain:
    """The last sealed event (the next gets ``seq + 1`` and links to ``hash``) and the
    key its rows are MAC'd with (:attr:`mac`)."""

    seq: int = 0
    hash: str = GENESIS_HASH
    key: bytes = attrs.field(default=b"", repr=False)
    mac: EventMac = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.mac = EventMac(self.key)

    def head_row(self) -> tuple[str, str]:
        """The ``meta`` row of the head anchor, for :data:`PUT_META`."""
        return "chain_head", self.head_text()

    def head_text(self) -> str:
        """The head anchor's JSON (written by every transaction that seals events, with
        :data:`SET_HEAD`: the precomputed MAC, the JSON by hand)."""
        mac = self.mac(anchor_text("head", self.seq, self.hash)).hex()
        return f'{{"seq": {self.seq}, "hash": "{self.hash}", "mac": "{mac}"}}'


@attrs.frozen(kw_only=True)
class Anchors:
    """What ``meta`` records about the chain (``None``: absent)."""

    first: Anchor | None = None
    head: Anchor | None = None
    keyed_from: int | None = None
    key_id: str | None = None


def read_anchors(conn: sqlite3.Connection | sqlite3.Cursor) -> Anchors:
    marks = ",".join("?" * len(ANCHOR_KEYS))
    rows = dict(conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", ANCHOR_KEYS))
    keyed = rows.get("chain_keyed_from")
    return Anchors(
        first=Anchor.parse(rows.get("chain_first")),
        head=Anchor.parse(rows.get("chain_head")),
        keyed_from=int(keyed) if keyed is not None and keyed.isdigit() else None,
        key_id=rows.get("chain_key_id"),
    )


def _last_row(conn: sqlite3.Connection) -> tuple[int, str] | None:
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def open_chain(
    conn: sqlite3.Connection,
    key: bytes,
    path: str,
    *,
    rekey: bool = False,
    expect_anchors: bool = False,
) -> tuple[Chain, list[str]]:
    """The chain to continue, anchoring it first if it never was (a new database, one
    written before anchors, or ``rekey``); also warnings about what the anchors show.

    ``expect_anchors``: the key existed before this start, so a database without
    anchors had them deleted (or is an older copy) and is refused unless ``rekey``.

    Raises:
        StoreUnavailable: the chain is keyed with another key, or its anchors are gone.
    """
    anchors = read_anchors(conn)
    if anchors.key_id is None and expect_anchors and not rekey:
        raise StoreUnavailable(
            f"audit anchors missing: {path} has no chain anchors although its home has an"
            " audit key (the anchors were deleted, or an older database was restored)",
            recoverable=False,
        )
    if anchors.key_id is None or rekey:
        return _anchor(conn, key, anchors), []
    if anchors.key_id != key_id(key):
        raise StoreUnavailable(
            f"audit key mismatch: {path}'s events are keyed with audit key {anchors.key_id},"
            f" not {key_id(key)}",
            recoverable=False,
        )
    return _resume(conn, key, anchors)


def _resume(conn: sqlite3.Connection, key: bytes, anchors: Anchors) -> tuple[Chain, list[str]]:
    """Continue after the furthest of the head anchor (if its MAC holds) and the last
    row, so that deleted events stay a visible gap rather than being reused."""
    last, head, first = _last_row(conn), anchors.head, anchors.first
    warnings = []
    if head is not None and not head.valid(key, "head"):
        warnings.append("the chain's head anchor fails its MAC check (edited)")
        head = None
    held = last[0] if last else (first.seq - 1 if first is not None else 0)
    if head is not None and head.seq >= held:
        if head.seq > held:
            warnings.append(f"events {held + 1}-{head.seq} before the recorded head are missing")
        return Chain(head.seq, head.hash, key), warnings
    if last is not None:
        if head is not None:
            warnings.append(f"events after the recorded head (seq {head.seq}) were added")
        return Chain(last[0], last[1], key), warnings
    start = Chain(first.seq - 1, first.hash, key) if first is not None else Chain(key=key)
    return start, warnings


def _anchor(conn: sqlite3.Connection, key: bytes, anchors: Anchors) -> Chain:
    """Record both anchors, the key's fingerprint and where keyed events start."""
    last = _last_row(conn)
    legacy = conn.execute("SELECT value FROM meta WHERE key='chain_anchor'").fetchone()
    if last is not None:
        chain = Chain(last[0], last[1], key)
    elif anchors.head is not None:
        chain = Chain(anchors.head.seq, anchors.head.hash, key)
    elif legacy is not None:  # every event pruned under the old single anchor
        seq, digest = json.loads(legacy[0])
        chain = Chain(int(seq), str(digest), key)
    else:
        chain = Chain(key=key)
    first = conn.execute("SELECT seq, prev_hash FROM events ORDER BY seq LIMIT 1").fetchone()
    if anchors.first is not None:
        first = (anchors.first.seq, anchors.first.hash)
    elif first is None:
        first = (chain.seq + 1, chain.hash)
    rows: Sequence[tuple[str, str]] = (
        ("chain_first", Anchor.made(key, "first", int(first[0]), str(first[1])).text()),
        chain.head_row(),
        ("chain_keyed_from", str(chain.seq + 1)),
        ("chain_key_id", key_id(key)),
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(PUT_META, rows)
        conn.execute("DELETE FROM meta WHERE key='chain_anchor'")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return chain


def prune_events(conn: sqlite3.Connection, through_seq: int, chain: Chain) -> int:
    """Delete the events up to ``through_seq`` and move the first anchor past them, in one
    transaction; how many rows went. Never deletes past the committed head.

    Raises:
        ValueError: ``through_seq`` is beyond the head, or its event is not in the table.
    """
    if through_seq > chain.seq:
        raise ValueError(f"cannot prune past the head (seq {chain.seq})")
    row = conn.execute("SELECT hash FROM events WHERE seq=?", (through_seq,)).fetchone()
    if row is None:
        raise ValueError(f"event {through_seq} is not in the table")
    first = Anchor.made(chain.key, "first", through_seq + 1, str(row[0]))
    conn.execute("BEGIN IMMEDIATE")
    try:
        count = conn.execute("DELETE FROM events WHERE seq <= ?", (through_seq,)).rowcount
        conn.execute(PUT_META, ("chain_first", first.text()))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return int(count)
