"""``python -m bench.store_replay capture DIR [--n N] [--workload W4]`` / ``replay DIR
[SQL…]``: the W1 storm's store thread (or W4's), recorded once and replayed without the
engine.

``capture`` runs :mod:`bench.storm`'s gnomon side and keeps a copy of the prefilled
database and, in call order, everything the second boot asked of the store: the boot
index, each load of staged jobs (``list_jobs``) and each batch of units
(``commit_batch``, pickled before it ran, so a unit's kept texts are what they were; one
pickle stream, so objects shared between batches — a job's spec, its transitions, a
run's times — are shared again in the replay, as they were in the storm).
``--workload W4`` records W4 instead (300 interval jobs every 100 ms, from their creation).
``replay`` runs that work again on a fresh copy of the database on one thread — same
queries, same units, same transactions — and prints thread CPU per fire: loads, the
transaction, and each SQL statement inside it (``COMMIT`` includes SQLite's automatic
WAL checkpoints), then a final ``wal_checkpoint(TRUNCATE)`` so that a setting that
defers checkpoints is charged for them. Extra arguments are SQL run on the connection
first (``"PRAGMA wal_autocheckpoint=4000"``, ``"DROP INDEX events_ts"``).

The engine's trio thread is not in the replay, so the machine's load disturbs it less
than a whole storm (run-to-run ±5 % at a load average of 14–20). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import collections
import gc
import io
import pickle
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trio

from bench.common import now
from bench.storm import BOOT_MARGIN, CREATE_RATE, _prefill, _storm
from bench.wl_gnomon import w4_churn
from gnomon.runtime.store import Changes
from gnomon.runtime.store import sqlite as sqlite_store
from gnomon.runtime.store.chain import open_chain

sql = sqlite_store.sql


def capture(out: Path, n: int, workload: str = "W1") -> None:
    """Run a storm of ``n`` jobs, recording the second boot's store work into ``out``
    (``workload="W4"``: W4's ``n`` interval jobs every 100 ms for 10 s on a fresh
    database, recorded from the first unit, their creation included)."""
    log: list[tuple[str, Any]] = []
    on = [False]
    commit, load, index = sql.commit_batch, sql.list_jobs, sql.job_index
    stream = io.BytesIO()
    pickler = pickle.Pickler(stream)  # one memo: what later batches share with earlier ones

    def commit_batch(conn: Any, units: Any, *rest: Any) -> Any:
        if on[0]:
            pickler.dump(list(units))
            log.append(("commit", None))
        return commit(conn, units, *rest)

    def list_jobs(conn: Any, query: Any) -> Any:
        if on[0]:
            log.append(("load", query))
        return load(conn, query)

    def job_index(conn: Any) -> Any:
        if on[0]:
            log.append(("index", None))
        return index(conn)

    sql.commit_batch, sql.list_jobs, sql.job_index = commit_batch, list_jobs, job_index  # type: ignore[assignment]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gnomon-storm-") as tmp:
        db = Path(tmp) / "gnomon.db"
        if workload == "W4":
            sql.connect(str(db)).close()  # an empty, migrated database
            shutil.copy(db, out / "gnomon.db")
            on[0] = True
            trio.run(w4_churn, db, n, 0.1, 10.0)
        else:
            due = now() + BOOT_MARGIN + n / CREATE_RATE
            trio.run(_prefill, db, n, due)
            shutil.copy(db, out / "gnomon.db")  # the first engine closed it: no WAL left
            on[0] = True
            trio.run(_storm, db, n, due, None)
    (out / "log.pickle").write_bytes(pickle.dumps(log))
    (out / "units.pickle").write_bytes(stream.getvalue())


def batches(cap: Path) -> Iterator[list[Changes]]:
    """The captured batches of units in order, each unpickled when asked for: objects
    that several batches shared (a job's spec, its creation time, a run's start) are
    shared again, and whatever an earlier batch's commit kept on them (their wire texts)
    is there for the later ones, as in the storm."""
    log = pickle.loads((cap / "log.pickle").read_bytes())
    with (cap / "units.pickle").open("rb") as f:
        unpickler = pickle.Unpickler(f)
        for kind, _ in log:
            if kind == "commit":
                yield unpickler.load()


class _Cursor:
    """A cursor that adds each statement's thread CPU to ``spent``."""

    def __init__(self, cur: sqlite3.Cursor, spent: collections.Counter[str]) -> None:
        self.cur, self.spent = cur, spent

    def execute(self, statement: str, args: Any = ()) -> sqlite3.Cursor:
        t = time.thread_time()
        out = self.cur.execute(statement, args)
        self.spent[statement[:44]] += time.thread_time() - t
        return out

    def executemany(self, statement: str, rows: Any) -> sqlite3.Cursor:
        t = time.thread_time()
        out = self.cur.executemany(statement, rows)
        self.spent[statement[:44]] += time.thread_time() - t
        return out

    def close(self) -> None:
        self.cur.close()


class _Conn:
    def __init__(self, conn: sqlite3.Connection, spent: collections.Counter[str]) -> None:
        self.conn, self.spent = conn, spent

    def cursor(self) -> _Cursor:
        return _Cursor(self.conn.cursor(), self.spent)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def execute(self, *args: Any) -> sqlite3.Cursor:
        return self.conn.execute(*args)


def replay(cap: Path, setup: list[str]) -> dict[str, float]:
    """Thread CPU per fire (µs) of the captured work, by part."""
    log = pickle.loads((cap / "log.pickle").read_bytes())
    units_of = batches(cap)
    spent: collections.Counter[str] = collections.Counter()
    fires = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "gnomon.db")
        shutil.copy(cap / "gnomon.db", path)
        conn = sql.connect(path)
        for statement in setup:
            conn.execute(statement)
        chain, _ = open_chain(conn, b"", path)
        traced = _Conn(conn, spent)
        gc.collect()
        gc.disable()
        for kind, arg in log:
            if kind == "commit":
                units = next(units_of)
                fires += sum(len(u.claims) for u in units)
                t = time.thread_time()
                sql.commit_batch(traced, units, chain, "bench-restart", lambda _: None)  # type: ignore[arg-type]
                spent["(transaction)"] += time.thread_time() - t
            else:
                t = time.thread_time()
                sql.list_jobs(conn, arg) if kind == "load" else sql.job_index(conn)
                spent[f"({kind})"] += time.thread_time() - t
        t = time.thread_time()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        spent["(final checkpoint)"] += time.thread_time() - t
        gc.enable()
        conn.close()
    statements = sum(v for k, v in spent.items() if not k.startswith("("))
    spent["(transaction less its SQL)"] = spent["(transaction)"] - statements
    return {k: round(v * 1e6 / max(1, fires), 1) for k, v in spent.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_replay")
    parser.add_argument("mode", choices=("capture", "replay"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("setup", nargs="*", help="SQL run before a replay")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--workload", choices=("W1", "W4"), default="W1")
    args = parser.parse_args()
    if args.mode == "capture":
        capture(args.dir, args.n, args.workload)
    else:
        for part, us in replay(args.dir, args.setup).items():
            print(f"{us:8.1f} µs/fire  {part}")


if __name__ == "__main__":
    main()
