"""The floor under a durable fire: gnomon's rows written with nothing else.

``python -m bench.floor --n 10000 [--transitions N]`` writes, for ``n`` one-shot jobs, the
rows a W1 fire writes today — the slot's claim, the job's state row twice (fired, then
ended), the run row twice (started, then finished) and three hash-chained, MAC'd events
— into gnomon's own schema (``runtime/store/schema.sql``) with the store's pragmas, in
chunks of 256 units per transaction (fire units, then end units, as the batch firer
commits them). Every text is encoded *once, before the clock starts* (a real state row,
run record and event of the size gnomon writes), so what is measured is SQLite's work and
the least Python a row needs (the tuple, the statement call, sha256 and HMAC): no state
machine, no encoder, no trio. It is the lower bound for any engine that keeps gnomon's
durable record per fire on one thread; ``--transitions`` pads the state row to a job with
that many transitions (two per fire of a recurring job, at most 16 kept). Job ids are
``job000000``, ``job000001``… (each chunk's rows sit side by side in every index keyed by
job); ``--random-ids`` gives them gnomon's own form (16 random hex digits), so that a
chunk's claims, runs and events land on leaves scattered over those indexes, as in W1.
``--no-end-state`` leaves the state row out of the end units: what a leaner record (the
end writes its run row and event, recovery derives the state) would save in SQLite.

The jobs' rows exist before the first chunk (created before their slot, as in W1 and
W4), so every state write is an update. It prints CPU µs per fire (``time.thread_time``),
split into the fire and the end transactions.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sqlite3
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

CHUNK = 256
TRANSITION = (
    '{"at":"2030-01-01T00:01:01.900000+00:00","from_status":"pending","to_status":'
    '"running","reason":"fire 19: slot 2030-01-01T00:01:01.900000+00:00"}'
)


def state_text(job_id: str, transitions: int) -> str:
    """A state row of the size gnomon writes for a plain job (spec ~1 KB)."""
    spec = {
        "name": f"storm-{job_id}",
        "schedule": {"type": "once", "at": "2030-01-01T00:01:00+00:00"},
        "action": {"type": "shell", "command": "true", "expect_exit": 0, "bypass_safety": False},
        "budget": {"action_timeout": 300.0, "max_retries": 3, "backoff_initial": 1.0},
        "ttl": 86400.0,
        "tags": {},
        "overlap": "skip",
        "misfire": "fire_once",
        "misfire_grace": 60.0,
        "env": {},
        "exclude": [],
        "pad": "x" * 600,
    }
    head = json.dumps({"id": job_id, "spec": spec, "status": "running", "cycle": 1})
    return head[:-1] + ',"transitions":[' + ",".join([TRANSITION] * transitions) + "]}"


def event_text(job_id: str, kind: str, seq: int) -> str:
    return json.dumps(
        {
            "type": kind,
            "job_id": job_id,
            "seq": seq,
            "ts": "2030-01-01T00:01:00.000000+00:00",
            "payload": {"fire_time": "2030-01-01T00:01:00+00:00", "cycle": 1, "pad": "y" * 250},
        },
        sort_keys=True,
    )


class Floor:
    """gnomon's schema on a fresh file, and its write statements."""

    def __init__(self, path: Path) -> None:
        from gnomon.runtime.store import sql_write

        self.w = sql_write
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        schema = resources.files("gnomon.runtime.store").joinpath("schema.sql").read_text()
        self.conn.executescript(schema)
        self.head = b"\0" * 32
        self.seq = 0
        self.key = b"k" * 32
        self.job_id = ""  # the job whose events are being sealed

    def seal(self, text: str) -> tuple[Any, ...]:
        """The chain link and MAC of one event (what sealing costs beyond its text)."""
        digest = hashlib.sha256(self.head + text.encode()).digest()
        self.seq += 1
        mac = hmac.new(self.key, digest, "sha256").hexdigest()
        self.head, prev = digest, self.head
        return (self.seq, "job.fired", 1.9e9, self.job_id, text, prev.hex(), digest.hex(), mac)

    def commit(self, units: list[dict[str, Any]]) -> None:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        jobs: list[tuple[Any, ...]] = []
        runs: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for u in units:
            if u["claim"] is not None:
                cur.execute(self.w.CLAIM, u["claim"])
            if u["job"] is not None:
                jobs.append(u["job"])
            runs.append(u["run"])
            self.job_id = u["run"][1]
            events.extend(self.seal(text) for text in u["events"])
        cur.executemany(self.w.PUT_JOB, jobs)
        cur.executemany(self.w.PUT_RUN, runs)
        cur.executemany(self.w.PUT_EVENT, events)
        cur.execute("COMMIT")


def units(
    n: int, transitions: int, random_ids: bool, end_state: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    fires, ends = [], []
    for i in range(n):
        job = os.urandom(8).hex() if random_ids else f"job{i:06d}"
        state = state_text(job, transitions)
        row = (job, f"storm-{job}", "running", "user:bench", None, None, 1.9e9, None, "{}", "[]")
        run = (f"{job}.1.1", job, 1.9e9, None, "boot", '{"run_id":"' + job + '"' + " " * 360 + "}")
        fires.append(
            {
                "claim": (job, "2030-01-01T00:01:00.000000+00:00", 1.9e9),
                "job": (*row, state),
                "run": run,
                "events": [event_text(job, "job.fired", 1), event_text(job, "job.running", 2)],
            }
        )
        ends.append(
            {
                "claim": None,
                "job": (*row, state.replace('"running"', '"completed"', 1)) if end_state else None,
                "run": (*run[:3], 1.9e9, *run[4:]),
                "events": [event_text(job, "job.completed", 3)],
            }
        )
    return fires, ends


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--transitions", type=int, default=2)
    p.add_argument("--random-ids", action="store_true", help="gnomon's random 16-hex job ids")
    p.add_argument("--no-end-state", action="store_true", help="no state row in end units")
    a = p.parse_args()
    fires, ends = units(a.n, a.transitions, a.random_ids, not a.no_end_state)
    with tempfile.TemporaryDirectory(prefix="gnomon-floor-") as tmp:
        floor = Floor(Path(tmp) / "gnomon.db")
        floor.conn.executemany(floor.w.PUT_JOB, [u["job"] for u in fires])  # created before
        fire_cpu = end_cpu = 0.0
        for i in range(0, a.n, CHUNK):
            t = time.thread_time()
            floor.commit(fires[i : i + CHUNK])
            fire_cpu += time.thread_time() - t
            t = time.thread_time()
            floor.commit(ends[i : i + CHUNK])
            end_cpu += time.thread_time() - t
    print(
        json.dumps(
            {
                "n": a.n,
                "transitions": a.transitions,
                "random_ids": a.random_ids,
                "end_state": not a.no_end_state,
                "state_row_bytes": len(fires[0]["job"][-1]),
                "cpu_us_per_fire": 1e6 * (fire_cpu + end_cpu) / a.n,
                "fire_tx_us_per_fire": 1e6 * fire_cpu / a.n,
                "end_tx_us_per_fire": 1e6 * end_cpu / a.n,
            }
        )
    )


if __name__ == "__main__":
    main()
