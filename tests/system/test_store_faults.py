"""A real daemon whose disk fills up (a small tmpfs as its home), and whose event log is
tampered with by someone who can write the database but not read ``audit.key``.

A full disk used to crash the store's writer until the root supervisor gave up and the
daemon exited; ``audit verify`` used to pass after the first or last events were deleted,
or one was edited and every later hash recomputed.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import httpx
import pytest
import trio
from gateway.rawws import connect, error_of, hourly_spec
from support.daemon_proc import RealDaemon, gnomon, until

from gnomon.runtime.model import wire
from gnomon.runtime.model.events import GENESIS_HASH, Event, chain_hash

pytestmark = pytest.mark.slow


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs (a real file system that fills up); skipped where mounting is not
    allowed (it needs root or CAP_SYS_ADMIN)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the file system says ENOSPC, to the last byte; the file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            with pytest.raises(OSError) as full:
                _write_forever(f, size)
            assert full.value.errno == errno.ENOSPC
    return filler


def _write_forever(f: BinaryIO, size: int) -> None:
    chunk = b"\0" * size
    while True:
        f.write(chunk)


def healthz(daemon: RealDaemon) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(daemon.http + "/healthz", timeout=30)
    return answer.status_code, answer.json()


def rpc_create(daemon: RealDaemon, name: str) -> dict[str, Any]:
    async def call() -> dict[str, Any]:
        async with connect(daemon) as conn:
            return await conn.call("job.create", {"spec": hourly_spec(name)})

    return trio.run(call)


def fired_after(home: Path, job: str, seq: int) -> int:
    events = gnomon(home, "events", "--json", "--job", job, "--type", "job.fired")
    return sum(1 for line in events.out.splitlines() if json.loads(line)["seq"] > seq)


def check_store(db: Path, acked: set[str]) -> None:
    """Integrity, every acknowledged job, a gap-free chain, each fired slot once and
    claimed: nothing lost and no unit half-applied."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert acked <= {r[0] for r in conn.execute("SELECT id FROM jobs")}
        events = [wire.from_json(r[0], Event) for r in conn.execute("SELECT event FROM events")]
        claims = {(r[0], r[1]) for r in conn.execute("SELECT job_id, fire_time FROM fires")}
    finally:
        conn.close()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    fired = Counter(
        (e.job_id, datetime.fromisoformat(e.payload["fire_time"]))
        for e in events
        if e.type == "job.fired"
    )
    assert fired
    assert all(n == 1 for n in fired.values())
    assert set(fired) <= {(j, datetime.fromisoformat(t)) for j, t in claims}


def test_a_full_disk_refuses_writes_keeps_the_daemon_up_and_recovers(tmpfs: Path) -> None:
    """With the disk full, creates fail with `error: disk full: <db>` (exit 5, JSON-RPC
    -32008 'disk full: …'), /healthz is 503 naming it, reads still answer and the daemon
    stays up; once space returns it recovers by itself: writes work, the job that fires
    every second fires again, no acknowledged job is lost, the chain verifies."""
    home = tmpfs / "home"
    daemon = RealDaemon.start(home)
    acked: set[str] = set()
    try:
        for args in (("tick", "--every", "1s", "--do", "noop"), ("idle", "--in", "1h")):
            made = gnomon(home, "schedule", *args, "--do", "noop", "--json")
            assert made.code == 0, made.err
            acked.add(made.json()["id"])
        until(lambda: fired_after(home, "tick", 0) >= 2, "tick fired")
        filler = fill(tmpfs)
        refused = None
        for i in range(30):  # the WAL may still have room for a few small units
            made = gnomon(home, "schedule", f"late{i}", "--in", "1h", "--do", "noop", "--json")
            if made.code != 0:
                refused = made
                break
            acked.add(made.json()["id"])
        assert refused is not None, "the full disk never refused a create"
        assert refused.code == 5, refused.err
        assert json.loads(refused.err)["error"]["message"].startswith("disk full: ")
        plain = gnomon(home, "schedule", "later", "--in", "1h", "--do", "noop")
        assert plain.code == 5
        assert plain.err.startswith(f"error: disk full: {home / 'gnomon.db'}: "), plain.err
        assert "Traceback" not in plain.err
        err = error_of(rpc_create(daemon, "rpc-late"), -32008)
        assert err["message"].startswith("disk full: ")
        status, report = healthz(daemon)
        assert (status, report["ok"], report["store_writable"]) == (503, False, False)
        assert report["reason"].startswith("disk full: ")
        assert gnomon(home, "jobs").code == 0  # reads still answer
        metrics = httpx.get(daemon.http + "/metrics", timeout=30).text
        (refusals,) = [ln for ln in metrics.splitlines() if 'errors_total{reason="store"}' in ln]
        assert float(refusals.split()[-1]) >= 2  # the GnomonStoreErrors alert fires
        assert daemon.proc.poll() is None, "the daemon exited on a full disk"
        filler.unlink()
        until(lambda: healthz(daemon)[0] == 200, "/healthz back to 200 once space returned")
        last = json.loads(gnomon(home, "events", "--json").out.splitlines()[-1])["seq"]
        until(lambda: fired_after(home, "tick", last) >= 2, "tick fires again")
        made = gnomon(home, "schedule", "after", "--in", "1h", "--do", "noop", "--json")
        assert made.code == 0, made.err
        acked.add(made.json()["id"])
        verified = gnomon(home, "audit", "verify")
        assert verified.code == 0, verified.err
    finally:
        assert daemon.stop() == 0
    check_store(home / "gnomon.db", acked)


def test_a_daemon_on_a_full_disk_still_stops_promptly(tmpfs: Path) -> None:
    """SIGTERM while job saves wait for space: they stop waiting, the daemon exits 0 in
    its ordinary stop time, and the next start (space back) recovers every job."""
    home = tmpfs / "home"
    daemon = RealDaemon.start(home)
    try:
        made = gnomon(home, "schedule", "tick", "--every", "1s", "--do", "noop", "--json")
        assert made.code == 0, made.err
        until(lambda: fired_after(home, "tick", 0) >= 1, "tick fired")
        filler = fill(tmpfs)
        until(lambda: healthz(daemon)[0] == 503, "/healthz 503 on the full disk")
        time.sleep(3)  # tick's next fires meet the full disk: their saves wait for space
    finally:
        assert daemon.stop(timeout=20) == 0  # not daemon.drain_timeout (30 s) later
    filler.unlink()
    again = RealDaemon.start(home)
    try:
        last = json.loads(gnomon(home, "events", "--json").out.splitlines()[-1])["seq"]
        until(lambda: fired_after(home, "tick", last) >= 1, "tick fires after the restart")
    finally:
        assert again.stop() == 0
    check_store(home / "gnomon.db", {made.json()["id"]})


# -- the audit chain against a database-only attacker ------------------------------------


@pytest.fixture
def stopped(tmp_path: Path) -> Path:
    """A home whose daemon made 3 jobs and stopped (events 1-N), audit verify passing."""
    home = tmp_path / "home"
    daemon = RealDaemon.start(home)
    try:
        for i in range(3):
            assert gnomon(home, "schedule", f"j{i}", "--in", "1h", "--do", "noop").code == 0
        assert gnomon(home, "audit", "verify").code == 0
    finally:
        daemon.stop()
    return home


def last_seq(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT max(seq) FROM events").fetchone()[0])
    finally:
        conn.close()


def verify_after(home: Path) -> str:
    daemon = RealDaemon.start(home)
    try:
        result = gnomon(home, "audit", "verify")
    finally:
        daemon.stop()
    assert result.code == 1, result.out
    line: str = result.err.strip()
    return line


def test_deleting_the_first_events_is_named(stopped: Path) -> None:
    """Events 1-3 deleted while the daemon was stopped: `audit verify` exits 1 naming
    them (it used to pass: the chain simply started at seq 4)."""
    db = stopped / "gnomon.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM events WHERE seq <= 3")
    assert verify_after(stopped) == (
        "error: hash chain broken at seq 1: events 1-3 deleted (at the start of the chain)"
    )


def test_deleting_the_last_events_under_a_running_daemon_is_named(stopped: Path) -> None:
    """The last three events deleted behind a running daemon's back: the head anchor
    still says where the chain ended (it used to pass)."""
    daemon = RealDaemon.start(stopped)
    try:
        head = last_seq(stopped / "gnomon.db")
        with sqlite3.connect(stopped / "gnomon.db") as conn:
            conn.execute("DELETE FROM events WHERE seq > ?", (head - 3,))
        result = gnomon(stopped, "audit", "verify")
    finally:
        daemon.stop()
    assert result.code == 1
    assert result.err.strip() == (
        f"error: hash chain broken at seq {head - 2}: head moved back from {head} to"
        f" {head - 3} (events {head - 2}-{head} deleted at the end)"
    )


@attrs.frozen
class Rechained:
    seq: int
    events: int


def rechain(db: Path, seq: int) -> Rechained:
    """Edit event ``seq`` and recompute every later link and hash with sha256, as anyone
    who knows the algorithm (but not the key) can; the head anchor's hash too."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT seq, event FROM events ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    with conn:
        for at, text in rows:
            event = wire.from_json(text, Event)
            if at >= seq:
                message = "nothing happened" if at == seq else event.message
                event = attrs.evolve(event, message=message, prev_hash=prev)
                event = attrs.evolve(event, hash=chain_hash(prev, event))
                conn.execute(
                    "UPDATE events SET event=?, prev_hash=?, hash=? WHERE seq=?",
                    (wire.to_json(event), event.prev_hash, event.hash, at),
                )
            prev = event.hash
    conn.close()
    return Rechained(seq, len(rows))


def test_an_edit_with_every_later_hash_recomputed_is_caught(stopped: Path) -> None:
    """The sha256 chain holds after re-chaining (it used to pass); the keyed MACs do not,
    and the edited seq is named."""
    done = rechain(stopped / "gnomon.db", 4)
    assert verify_after(stopped) == (
        "error: hash chain broken at seq 4: mac mismatch (the event was edited and the"
        " later hashes recomputed)"
    )
    assert done.events > 4


def test_the_audit_key_is_private_and_required(stopped: Path) -> None:
    """audit.key is 0600; without it the daemon refuses to start on a keyed database, in
    one line naming the key and what to do, and leaves the home as it was."""
    key = stopped / "audit.key"
    assert key.stat().st_mode & 0o777 == 0o600
    key.unlink()
    started = gnomon(stopped, "daemon", "start", "--port", "0")
    assert started.code == 5
    assert started.err.startswith(f"error: {key} is missing, but the events in ")
    assert "--new-audit-key" in started.err
    assert len(started.err.strip().splitlines()) == 1
    assert not key.exists()
