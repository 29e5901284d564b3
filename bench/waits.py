"""W6: many waits polling a closed TCP port, through a real daemon (a child process).

``python -m bench.waits --n 3000 --n 10000 --window 60 --json`` creates ``n`` jobs due in
two seconds (or spread over ``--spread`` seconds from then) whose wait polls ``tcp``
127.0.0.1:<a closed port> every ``--interval`` seconds (``wait_timeout`` one hour),
waits until every one of them has started its wait,
lets the polls settle for ``--settle`` seconds (each wait's first poll is a durable
tick), then measures for ``--window`` seconds:

- ``cpu_core``: the daemon's CPU seconds per wall second (1.0 = one core busy);
- ``rss_kb_per_wait``: the daemon's RSS growth from before the creates to the end of the
  window, divided by ``n`` (so it counts the job, its wait and everything they allocate);
- ``durable_events_per_min``: rows appended to the event log per minute in the window;
- ``db_kib_per_min``: growth of the database (and its WAL) per minute in the window.

``start_late_*`` (after due or created) and ``start_late_due_*`` (after due): each
``job.wait_started``'s time; ``creates_s``: how long the creates took; ``all_waiting_s``:
from their end until every ``job.wait_started`` row was committed.

``--control`` creates the same jobs due in a day (so none waits): the RSS a job costs
before its wait starts. Each ``n`` runs in a fresh daemon and home. A benchmark, not a
test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import sys
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from bench.wl_daemon import cpu_seconds, daemon
from gnomon.cli import client
from gnomon.runtime.home import Home
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec
from gnomon.runtime.model.schedule import OnceSchedule

BATCH = 500


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def spec(name: str, at: datetime, port: int, interval: float) -> dict[str, Any]:
    value = JobSpec(
        name=name,
        schedule=OnceSchedule(at=at),
        action=ShellAction(command="true"),
        wait=WaitSpec(condition=TcpCondition(host="127.0.0.1", port=port)),
        budget=Budget(poll_interval=interval, wait_timeout=3600.0),
        i_know=True,
    )
    return dict(wire.unstructure(value))


async def create(
    home: Path, url: str, n: int, at: datetime, port: int, interval: float, spread: float
) -> None:
    async with client.connect(Home(home), url, start=False) as conn:
        for lo in range(0, n, BATCH):
            specs = [
                spec(f"w-{i}", at + timedelta(seconds=i * spread / n), port, interval)
                for i in range(lo, min(n, lo + BATCH))
            ]
            answer = await conn.call("job.create_many", {"specs": specs})
            assert answer["created"] == len(specs), answer


def query(db: Path, sql: str) -> int:
    """One number from the daemon's database (read-only; retried while it is busy)."""
    for _ in range(50):
        with suppress(sqlite3.Error):
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
            try:
                row = conn.execute(sql).fetchone()
            finally:
                conn.close()
            return int(row[0] or 0)
        time.sleep(0.1)
    raise RuntimeError(f"cannot read {db}")


def start_lateness(db: Path, at: datetime, spread: float = 0.0, n: int = 1) -> dict[str, float]:
    """How late each wait started after its job was due — or created, when that was
    later (creating 10k jobs takes seconds): p50, p99 and max, seconds (``--spread``
    adds up to S seconds to the later jobs' due times; they are not subtracted). Also
    ``start_late_due_*``: after the job's own due time only (``w-i`` is due at
    ``at + i * spread / n``), so that creates that end sooner, and leave more jobs due
    together, are not counted against the engine; ``start_late_poll_*``: the first poll's
    durable tick after the job was due or created — when the wait really began polling
    (``job.wait_started`` bears the time its fire was *stepped*, before its commit)."""
    due = "? + CAST(substr(j.name, 3) AS REAL) * ? / ?"
    sql = (
        f"SELECT w.ts - max(c.ts, ?), w.ts - ({due}), p.ts - max(c.ts, {due}) "
        "FROM events w JOIN events c ON c.job_id = w.job_id AND c.type = 'job.created' "
        "JOIN jobs j ON j.id = w.job_id "
        "JOIN (SELECT job_id, min(ts) AS ts FROM events WHERE type = 'job.wait_tick' "
        "GROUP BY job_id) p ON p.job_id = w.job_id WHERE w.type = 'job.wait_started'"
    )
    args = (at.timestamp(), at.timestamp(), spread, n, at.timestamp(), spread, n)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30.0)
    try:
        rows = conn.execute(sql, args).fetchall()
    finally:
        conn.close()
    if not rows:
        return {}
    out = {}
    kinds = ("", "due_", "poll_")
    for key, late in ((k, sorted(r[i] for r in rows)) for i, k in enumerate(kinds)):
        for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
            out[f"start_late_{key}{name}_s"] = round(
                late[min(len(late) - 1, int(q * len(late)))], 2
            )
    return out


def db_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("gnomon.db*"))


def measure(n: int, a: argparse.Namespace) -> dict[str, Any]:
    port = closed_port()
    with tempfile.TemporaryDirectory(prefix="gnomon-w6-") as tmp:
        home = Path(tmp) / "home"
        db = home / "gnomon.db"
        with daemon(home) as (proc, url):
            time.sleep(1.0)
            rss0 = rss_kb(proc.pid)
            at = datetime.now(UTC) + timedelta(seconds=86400 if a.control else 2)
            creating = time.monotonic()
            trio.run(create, home, url, n, at, port, a.interval, a.spread)
            started = time.monotonic()
            waiting = 0
            while not a.control and time.monotonic() < started + 300:
                waiting = query(db, "SELECT count(*) FROM events WHERE type='job.wait_started'")
                if waiting >= n:
                    break
                time.sleep(0.5)
            all_waiting_s = time.monotonic() - started
            if not a.control:  # every first poll's tick is in (one interval and a bit)
                time.sleep(a.interval + 1)
            late = start_lateness(db, at, a.spread, n) if not a.control else {}
            time.sleep(a.settle + a.spread)
            seq0 = query(db, "SELECT max(seq) FROM events")
            size0, cpu0, t0 = db_bytes(home), cpu_seconds(proc.pid), time.monotonic()
            rss_start = rss_kb(proc.pid)
            time.sleep(a.window)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            seq1, size1 = query(db, "SELECT max(seq) FROM events"), db_bytes(home)
            ticks = query(
                db, f"SELECT count(*) FROM events WHERE seq > {seq0} AND type='job.wait_tick'"
            )
            rss1 = rss_kb(proc.pid)
    minutes = (t1 - t0) / 60
    return {
        "waits": n,
        "control": a.control,
        "spread_s": a.spread,
        "waiting": waiting,
        "interval_s": a.interval,
        "polls_per_s": n / a.interval,
        "creates_s": round(started - creating, 1),
        "all_waiting_s": round(all_waiting_s, 1),
        **late,
        "window_s": round(t1 - t0, 1),
        "cpu_core": round((cpu1 - cpu0) / (t1 - t0), 3),
        "rss_kb_per_wait": round((rss1 - rss0) / n, 2),
        "rss_mib": round(rss1 / 1024, 1),
        "rss_kib_per_min_in_window": round((rss1 - rss_start) / minutes, 1),
        "durable_events_per_min": round((seq1 - seq0) / minutes, 1),
        "durable_ticks_per_min": round(ticks / minutes, 1),
        "db_kib_per_min": round((size1 - size0) / 1024 / minutes, 1),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.waits", description=__doc__)
    p.add_argument("--n", type=int, action="append", help="waits (repeatable; default 3000)")
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--settle", type=float, default=20.0)
    p.add_argument("--spread", type=float, default=0.0, help="due times spread over S seconds")
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument(
        "--control", action="store_true", help="the same jobs due in a day: what a job costs"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    a = p.parse_args(argv)
    for n in a.n or [3000]:
        result = measure(n, a)
        print(json.dumps(result) if a.json else result, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
