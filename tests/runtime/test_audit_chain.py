"""The keyed, anchored event chain: what a database-only attacker does, and what
``verify_audit`` names (deletions at either end or in the middle, edits, re-chaining,
altered anchors), old databases keyed from the next event, pruning that moves the anchor."""

from __future__ import annotations

import json
import sqlite3
from importlib.resources import files
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from support.storekit import draft, running_store

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model import wire
from gnomon.runtime.model.events import GENESIS_HASH, Event, chain_hash, seal
from gnomon.runtime.store import Changes
from gnomon.runtime.store.audit import Verifier
from gnomon.runtime.store.chain import Anchor, Anchors, Chain, EventMac, event_mac, key_id
from gnomon.runtime.store.sqlite import SqliteStore

KEY = bytes(range(32))
N = 12


async def chained(nursery: trio.Nursery, path: Path, n: int = N) -> SqliteStore:
    store = await running_store(nursery, path, audit_key=KEY)
    await store.commit(Changes(events=tuple(draft("j", f"e{i}") for i in range(1, n + 1))))
    return store


def tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def rechain(path: Path, edit_seq: int, message: str, through: int = 10**9) -> None:
    """What an attacker without the key can do: edit one event, then recompute every
    later hash and link up to ``through`` (and the head anchor's hash when that is the
    end) so that the sha256 chain holds."""
    conn = sqlite3.connect(path)
    query = "SELECT seq, event FROM events WHERE seq <= ? ORDER BY seq"
    rows = conn.execute(query, (through,)).fetchall()
    prev = GENESIS_HASH
    with conn:
        for seq, text in rows:
            event = wire.from_json(text, Event)
            if seq == edit_seq:
                event = attrs.evolve(event, message=message)
            if seq >= edit_seq:
                event = attrs.evolve(event, prev_hash=prev)
                digest = chain_hash(prev, event)
                event = attrs.evolve(event, hash=digest)
                conn.execute(
                    "UPDATE events SET event=?, prev_hash=?, hash=? WHERE seq=?",
                    (wire.to_json(event), prev, digest, seq),
                )
            prev = event.hash
        head = json.loads(
            conn.execute("SELECT value FROM meta WHERE key='chain_head'").fetchone()[0]
        )
        if head["seq"] <= through:
            head["hash"] = prev
            conn.execute("UPDATE meta SET value=? WHERE key='chain_head'", (json.dumps(head),))
    conn.close()


async def verdict(path: Path) -> tuple[int | None, str]:
    store = SqliteStore(str(path), inline=True, audit_key=KEY)
    report = await store.verify_audit()
    store.close()
    assert not report.ok
    return report.first_bad_seq, report.problem


async def test_an_untouched_chain_verifies_from_its_first_to_its_head(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Every event carries its MAC; the report spans first anchor to head."""
    store = await chained(nursery, tmp_path / "g.db")
    report = await store.verify_audit()
    assert (report.ok, report.checked, report.first_seq, report.head_seq) == (True, N, 1, N)
    assert report.keyed_from == 1


@pytest.mark.parametrize(
    ("statements", "seq", "problem"),
    [
        (["DELETE FROM events WHERE seq <= 3"], 1, "events 1-3 deleted (at the start"),
        ([f"DELETE FROM events WHERE seq > {N - 3}"], N - 2,
         f"head moved back from {N} to {N - 3}"),
        (["DELETE FROM events WHERE seq = 5"], 5, "event 5 deleted (in the middle"),
        (["UPDATE events SET event = replace(event, 'e7', 'E7') WHERE seq = 7"], 7,
         "hash mismatch"),
        (["UPDATE events SET mac = NULL WHERE seq = 4"], 4, "mac missing"),
        (["UPDATE meta SET value = json_object('seq', 4, 'hash', (SELECT prev_hash FROM"
          " events WHERE seq = 4), 'mac', '') WHERE key = 'chain_first'",
          "DELETE FROM events WHERE seq <= 3"], 4, "first anchor fails its MAC"),
        ([f"UPDATE meta SET value = replace(value, '\"seq\": {N},', '\"seq\": {N - 2},')"
          " WHERE key = 'chain_head'"], N - 2, "head anchor fails its MAC"),
    ],
)  # fmt: skip
async def test_each_tampering_is_named(
    nursery: trio.Nursery,
    autojump_clock: trio.abc.Clock,
    tmp_path: Path,
    statements: list[str],
    seq: int | None,
    problem: str,
) -> None:
    """Deleting the first, last or a middle event, editing one, dropping a MAC or
    altering an anchor is reported with the first bad seq and what is wrong."""
    path = tmp_path / "g.db"
    (await chained(nursery, path)).close()
    tamper(path, *statements)
    at, why = await verdict(path)
    assert (at, problem in why) == (seq, True), why


async def test_rechaining_without_the_key_is_caught_at_the_edited_event(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """An edit with every later hash recomputed passes the sha256 chain but not the MACs:
    the report names the edited seq."""
    path = tmp_path / "g.db"
    (await chained(nursery, path)).close()
    rechain(path, 6, "nothing to see here")
    assert await verdict(path) == (
        6,
        "mac mismatch (the event was edited and the later hashes recomputed)",
    )


async def test_a_tail_cut_while_stopped_stays_a_gap_after_restart(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A reopened store continues after the recorded head, not after the last row: the
    deleted events are never reused, and the gap is named."""
    path = tmp_path / "g.db"
    (await chained(nursery, path)).close()
    tamper(path, f"DELETE FROM events WHERE seq > {N - 3}")
    store = await running_store(nursery, path, audit_key=KEY)
    (event,) = await store.commit(Changes(events=(draft("j", "after"),)))
    assert event.seq == N + 1
    report = await store.verify_audit()
    assert (report.first_bad_seq, report.problem) == (
        N - 2,
        f"events {N - 2}-{N} deleted (in the middle of the chain)",
    )


async def test_a_rollback_under_a_running_store_is_caught(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Restoring an older head anchor and cutting the tail behind the store's back passes
    the database's own checks, but the store remembers its head."""
    path = tmp_path / "g.db"
    store = await running_store(nursery, path, audit_key=KEY)
    await store.commit(Changes(events=(draft("j", "one"),)))
    old_head = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='chain_head'")
    saved = old_head.fetchone()[0]
    await store.commit(Changes(events=(draft("j", "two"), draft("j", "three"))))
    tamper(
        path,
        "DELETE FROM events WHERE seq > 1",
        f"UPDATE meta SET value = '{saved}' WHERE key = 'chain_head'",
    )
    report = await store.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert report.problem.startswith("head moved back from 3 to 1 while the daemon ran")


async def test_anchors_deleted_under_a_running_store_are_named(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Without its anchors the chain cannot be vouched for: the report says so."""
    path = tmp_path / "g.db"
    store = await chained(nursery, path)
    tamper(path, "DELETE FROM meta WHERE key LIKE 'chain_%'")
    report = await store.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, None)
    assert report.problem == "the chain's anchors are missing from the meta table (deleted)"


async def test_a_wrong_key_or_missing_anchors_refuse_to_open(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Another key is refused naming both fingerprints; a keyed home whose anchors are
    gone is refused unless rekeyed, which keys the chain from the next event."""
    path = tmp_path / "g.db"
    (await chained(nursery, path)).close()
    with pytest.raises(StoreUnavailable, match=f"audit key mismatch.*{key_id(KEY)}"):
        SqliteStore(str(path), inline=True, audit_key=b"k" * 32)
    tamper(path, "DELETE FROM meta WHERE key LIKE 'chain_%'")
    with pytest.raises(StoreUnavailable, match="audit anchors missing"):
        SqliteStore(str(path), inline=True, audit_key=KEY, expect_anchors=True)
    store = SqliteStore(str(path), inline=True, audit_key=b"n" * 32, rekey=True)
    report = await store.verify_audit()
    assert (report.ok, report.keyed_from, report.checked) == (True, N + 1, N)


def version_one(path: Path, n: int) -> None:
    """A database as gnomon wrote it before anchors: schema 1, no mac, no anchors."""
    conn = sqlite3.connect(path)
    conn.executescript(
        files("gnomon.runtime.store").joinpath("schema.sql").read_text()
        + "ALTER TABLE events DROP COLUMN mac;"
        "INSERT INTO meta VALUES ('schema_version', '1');"
    )
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        event = seal(draft("j", f"old{seq}"), seq, prev)
        conn.execute(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?)",
            (seq, event.type.value, 0.0, "j", wire.to_json(event), prev, event.hash),
        )
        prev = event.hash
    conn.commit()
    conn.close()


async def test_an_old_database_is_keyed_from_its_next_event(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Migration adds the MAC column and anchors the old chain; new events are keyed; a
    re-chained old prefix breaks at the first keyed event's link."""
    path = tmp_path / "g.db"
    version_one(path, 5)
    store = await running_store(nursery, path, audit_key=KEY)
    await store.commit(Changes(events=(draft("j", "new"),)))
    report = await store.verify_audit()
    assert (report.ok, report.keyed_from, report.checked, report.head_seq) == (True, 6, 6, 6)
    store.close()
    rechain(path, 2, "rewritten history", through=5)
    assert await verdict(path) == (6, "prev_hash does not link to the previous event")
    rechain(path, 2, "rewritten history")
    assert (await verdict(path))[0] == 6


async def test_pruning_moves_the_first_anchor(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Pruned events are not 'deleted': the first anchor moved with them; a deletion after
    the new start still is."""
    path = tmp_path / "g.db"
    store = await chained(nursery, path)
    assert await store.prune_events(5) == 5
    report = await store.verify_audit()
    assert (report.ok, report.first_seq, report.checked) == (True, 6, N - 5)
    with pytest.raises(ValueError, match="past the head"):
        await store.prune_events(N + 1)
    store.close()
    tamper(path, "DELETE FROM events WHERE seq = 6")
    assert await verdict(path) == (6, "event 6 deleted (at the start of the chain)")


def made_chain(n: int) -> tuple[Anchors, list[tuple[int, str, bytes | None]]]:
    prev, rows = GENESIS_HASH, []
    for seq in range(1, n + 1):
        event = seal(draft("j", f"m{seq}"), seq, prev)
        rows.append((seq, wire.to_json(event), event_mac(KEY, event.hash)))
        prev = event.hash
    anchors = Anchors(
        first=Anchor.made(KEY, "first", 1, GENESIS_HASH),
        head=Anchor.made(KEY, "head", n, prev),
        keyed_from=1,
        key_id=key_id(KEY),
    )
    return anchors, rows


@given(
    st.integers(2, 30).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(1, n), st.integers(1, n))
    )
)
def test_any_deleted_run_of_events_is_found_at_its_start(case: tuple[int, int, int]) -> None:
    """Deleting any contiguous run of events (at the start, the middle or the end) is
    reported at its first seq, naming the whole run."""
    n, a, b = case
    first, last = min(a, b), max(a, b)
    anchors, rows = made_chain(n)
    verifier = Verifier(anchors, KEY)
    verifier.feed(r for r in rows if not first <= r[0] <= last)
    report = verifier.report()
    assert (report.ok, report.first_bad_seq) == (False, first)
    span = f"event {first} deleted" if first == last else f"events {first}-{last} deleted"
    assert span in report.problem


@given(
    st.binary(min_size=0, max_size=100),
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.integers(0, 2**40),
)
def test_the_event_mac_is_hmac_sha256(key: bytes, digest: str, seq: int) -> None:
    """The precomputed-state MAC of the seal equals the standard library's HMAC-SHA256,
    for any key length (longer than SHA-256's block too); the head anchor written by every
    transaction is the one the verifier checks."""
    assert EventMac(key)(digest) == event_mac(key, digest)
    row = Chain(seq, digest, key).head_row()
    text = row[1]
    assert row[0] == "chain_head"
    assert text == Anchor.made(key, "head", seq, digest).text()
    assert Anchor.parse(text) == Anchor.made(key, "head", seq, digest)
