"""Verifying the event log against its anchors and MACs (``gnomon audit verify``).

:class:`Verifier` is fed the ``events`` rows in ``seq`` order, page by page, and names
the first thing wrong: events deleted at the start (``events 1-3 deleted``), in the
middle or at the end (``head moved back from 120 to 117``), a row moved, an edited event
(``hash mismatch``), an event edited and every later hash recomputed (``mac mismatch``:
only the holder of the audit key can re-chain), or an anchor altered. Pure and
synchronous; the store pages the rows (``SqliteStore.verify_audit``).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

import attrs

from gnomon.runtime.model import wire
from gnomon.runtime.model.events import Event, chain_hash
from gnomon.runtime.store.chain import Anchors, EventMac, key_id

Row = tuple[int, str, bytes | None]  # seq, the event's JSON, mac


@attrs.frozen(kw_only=True)
class AuditReport:
    """The verdict: ``ok``, or ``first_bad_seq`` (when one is known) and ``problem``."""

    ok: bool
    checked: int
    first_seq: int
    head_seq: int
    keyed_from: int
    first_bad_seq: int | None = None
    problem: str = ""


def _span(first: int, last: int) -> str:
    return f"event {first} deleted" if first == last else f"events {first}-{last} deleted"


class Verifier:
    """Checks rows against ``anchors`` with ``key``; ``memory_head`` is the daemon's own
    record of the last committed ``seq`` (a database rolled back under it is caught)."""

    def __init__(self, anchors: Anchors, key: bytes, memory_head: int | None = None) -> None:
        self.key = key
        self._mac = EventMac(key)
        self.checked = 0
        self.problem: tuple[int | None, str] | None = None
        first, head = anchors.first, anchors.head
        self.first_seq = first.seq if first is not None else 1
        self.head_seq = head.seq if head is not None else 0
        self.keyed_from = anchors.keyed_from or 1
        self.expect_seq, self.expect_prev = self.first_seq, first.hash if first else ""
        self._head_hash = head.hash if head is not None else ""
        self._scan_to = self.head_seq
        self.anchor_problem: tuple[int | None, str] | None = None  # reported if rows are fine
        self.problem = self._anchor_problem(anchors, memory_head)

    def _anchor_problem(
        self, anchors: Anchors, memory_head: int | None
    ) -> tuple[int | None, str] | None:
        """A problem that stops the check; an anchor failing its MAC only is noted in
        :attr:`anchor_problem` (an edited event found by the scan is the better news)."""
        if anchors.first is None or anchors.head is None or anchors.key_id is None:
            return None, "the chain's anchors are missing from the meta table (deleted)"
        if anchors.key_id != key_id(self.key):
            return None, f"the database is keyed with audit key {anchors.key_id}, not this one"
        if not anchors.head.valid(self.key, "head"):
            self._scan_to = 2**62  # the recorded head cannot be trusted: scan every row
            self.anchor_problem = self.head_seq, "the head anchor fails its MAC check (edited)"
        elif memory_head is not None and memory_head > self.head_seq:
            why = f"head moved back from {memory_head} to {self.head_seq} while the daemon ran"
            return self.head_seq + 1, f"{why} (the database was rolled back)"
        if not anchors.first.valid(self.key, "first"):
            self.anchor_problem = self.first_seq, "the first anchor fails its MAC check (edited)"
        return None

    @property
    def done(self) -> bool:
        return self.problem is not None or self.expect_seq > self._scan_to

    def feed(self, rows: Iterable[Row]) -> None:
        """Check the next rows (ascending ``seq``); stops at the first problem."""
        for seq, text, mac in rows:
            if self.done:
                return
            self.problem = self._row(seq, text, mac)

    def _row(self, seq: int, text: str, mac: bytes | None) -> tuple[int | None, str] | None:
        expect = self.expect_seq
        if seq < expect:
            return seq, f"event {seq} lies before the first anchor (seq {expect})"
        if seq > expect:
            last = min(seq - 1, self._scan_to)
            where = "at the start" if expect == self.first_seq else "in the middle"
            return expect, f"{_span(expect, last)} ({where} of the chain)"
        event = wire.from_json(text, Event)
        if event.seq != seq:
            return seq, f"row {seq} holds event {event.seq} (rows moved)"
        if event.prev_hash != self.expect_prev:
            return seq, "prev_hash does not link to the previous event"
        if chain_hash(event.prev_hash, event) != event.hash:
            return seq, "hash mismatch (the event was edited)"
        if seq >= self.keyed_from and not hmac.compare_digest(mac or b"", self._mac(event.hash)):
            why = "mac missing" if not mac else "mac mismatch"
            return seq, f"{why} (the event was edited and the later hashes recomputed)"
        self.checked += 1
        self.expect_seq, self.expect_prev = seq + 1, event.hash
        return None

    def report(self) -> AuditReport:
        """The verdict once every row up to the head was fed."""
        problem = self.problem or self.anchor_problem
        last = self.expect_seq - 1
        if problem is None and last < self.head_seq:
            why = f"head moved back from {self.head_seq} to {last}"
            problem = last + 1, f"{why} ({_span(last + 1, self.head_seq)} at the end)"
        elif problem is None and last >= self.first_seq and self.expect_prev != self._head_hash:
            problem = last, "the last event's hash is not the recorded head's (re-chained)"
        at, why = problem if problem is not None else (None, "")
        return AuditReport(
            ok=problem is None,
            checked=self.checked,
            first_seq=self.first_seq,
            head_seq=self.head_seq,
            keyed_from=self.keyed_from,
            first_bad_seq=at,
            problem=why,
        )
