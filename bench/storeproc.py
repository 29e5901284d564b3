"""A measurement prototype: the SQLite store's writer in a process of its own.

Issue 18 item 6 asks whether the store's encoding and SQL are better off behind a second
GIL. :class:`ProcessStore` is :class:`~gnomon.runtime.store.sqlite.SqliteStore` with one
method replaced: the writer actor's transaction (``_write_units``) is sent to a child
process (``python -m bench.storeproc --serve``) over a socket pair instead of running on
the store's worker thread. The child runs the real write path — ``sql.commit_batch`` on
its own connection and its own copy of the hash chain (encoders, claims, SQL, sealing) —
and answers each unit with its events' chain links ``(seq, prev_hash, hash)`` or its
refusal; the parent rebuilds the sealed events from the drafts it kept (``event_of``), so
the writer answers callers and publishes exactly as before. Reads stay on the parent's
own connection (WAL: a reader beside the child's writer).

What crosses the boundary is the unit of work as it is, pickled (attrs objects), or with
``rows=True`` the rows pre-encoded on the trio thread (:mod:`bench.storeproc_rows`);
:mod:`bench.storeproc_run` measures both against the thread. The verdict (not done) and
the numbers are in ``docs/store.md``, "The writer in a process of its own".

A prototype for benchmarks, not product code: the parent's chain is not advanced (no
``prune_events``/``verify_audit`` through it), the child's death surfaces as
``StoreUnavailable`` on the next commit and nothing fences the daemon, and the child has
no crash point. Cancellation: a cancelled caller abandons the answer, as with the thread;
the writer actor must not be cancelled between sending a batch and reading its reply (the
socket would fall out of step), which the bench never does.
"""

from __future__ import annotations

import argparse
import os
import pickle
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

from bench.storeproc_rows import dumps_units
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.model.events import Event, event_of
from gnomon.runtime.store import Changes, FireAlreadyClaimed, sql
from gnomon.runtime.store.chain import open_chain
from gnomon.runtime.store.errors import storage_error
from gnomon.runtime.store.sqlite import SqliteStore
from gnomon.runtime.store.writer import UnitResult

ROOT = Path(__file__).resolve().parent.parent
HEADER = struct.Struct("!I")
PICKLE = pickle.HIGHEST_PROTOCOL
#: One event's chain link as the child sends it back.
Link = tuple[int, str, str]


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the child ---------------------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the parent closed the store's socket")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def encode_results(results: list[tuple[Event, ...] | FireAlreadyClaimed]) -> list[Any]:
    """Each unit's answer as plain data: its events' links, or ``("claimed", message)``."""
    out: list[Any] = []
    for result in results:
        if isinstance(result, FireAlreadyClaimed):
            out.append(("claimed", result.message))
        else:
            out.append([(e.seq, e.prev_hash, e.hash) for e in result])
    return out


def serve(fd: int, path: str, key: bytes, rows: bool = False) -> None:
    """The child: commit each batch it is sent, answer with links, until EOF (``rows``:
    the batches are pre-encoded, :mod:`bench.storeproc_rows`)."""
    from bench.storeproc_rows import commit_rows

    sock = socket.socket(fileno=fd)
    conn = sql.connect(path)
    chain, _warnings = open_chain(conn, key, path)
    no_crash = lambda point: None  # noqa: E731 (the bench kills nothing)
    sock.sendall(b"R")  # ready: imported, connected, chain loaded
    while True:
        try:
            (size,) = HEADER.unpack(_recv_exact(sock, HEADER.size))
        except EOFError:
            return
        units: list[Any] = pickle.loads(_recv_exact(sock, size))
        try:
            if rows:
                answers = commit_rows(conn, units, chain)
            else:
                answers = encode_results(
                    sql.commit_batch(conn, units, chain, "bench-child", no_crash)
                )
            reply: Any = ("ok", answers, chain.seq)
        except sqlite3.Error as exc:
            error = storage_error(exc, path)
            if error is None:
                reply = ("crash", repr(exc))
            else:
                reply = ("unavailable", error.message, error.recoverable)
        except Exception as exc:  # a bug: the parent's writer crashes with it
            reply = ("crash", repr(exc))
        data = pickle.dumps(reply, PICKLE)
        sock.sendall(HEADER.pack(len(data)) + data)


# -- the parent --------------------------------------------------------------------------


def rebuild(units: list[Changes], answers: list[Any]) -> list[UnitResult]:
    """The writer's per-unit results from the child's answers and the units' drafts."""
    results: list[UnitResult] = []
    for unit, answer in zip(units, answers, strict=True):
        if isinstance(answer, tuple):
            results.append(FireAlreadyClaimed(answer[1]))
        else:
            results.append(
                tuple(
                    event_of(draft, seq, prev, digest)
                    for draft, (seq, prev, digest) in zip(unit.events, answer, strict=True)
                )
            )
    return results


class _Timed(SqliteStore):
    """Records the wall seconds of each ``commit``/``commit_many`` call that starts at
    or after :attr:`since` (a wall time) in :attr:`latencies`."""

    latencies: list[float]
    since: float = 0.0

    async def commit(self, changes: Changes, *, urgent: bool = False) -> tuple[Event, ...]:
        t0, wall = time.perf_counter(), time.time()
        try:
            return await super().commit(changes, urgent=urgent)
        finally:
            if wall >= self.since:
                self.latencies.append(time.perf_counter() - t0)

    async def commit_many(self, units: Any, *, urgent: bool = False) -> list[UnitResult]:
        t0, wall = time.perf_counter(), time.time()
        try:
            return await super().commit_many(units, urgent=urgent)
        finally:
            if wall >= self.since:
                self.latencies.append(time.perf_counter() - t0)


class ProcessStore(_Timed, SqliteStore):
    """:class:`SqliteStore` whose transactions run in a child process (module docstring).

    ``latencies`` collects each ``commit``/``commit_many`` call's wall seconds;
    ``ipc_cpu`` the trio thread's CPU seconds spent pickling and rebuilding.
    """

    def __init__(self, path: str, *, rows: bool = False, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.latencies = []
        self._rows = rows
        parent, child = socket.socketpair()
        argv = ["-m", "bench.storeproc", "--serve", str(child.fileno()), path]
        self._child = subprocess.Popen(
            [sys.executable, *argv, *(["--rows"] if rows else [])],
            cwd=ROOT,
            pass_fds=(child.fileno(),),
        )
        child.close()
        if parent.recv(1) != b"R":  # wait until the child is up (its start is not measured)
            raise StoreUnavailable("the store's process did not start", recoverable=False)
        parent.setblocking(False)
        self._sock = parent
        self._stream: trio.SocketStream | None = None
        self.latencies: list[float] = []
        self.ipc_cpu = 0.0
        self.units_sent = 0

    @property
    def child_pid(self) -> int:
        return self._child.pid

    def child_cpu(self) -> float:
        return _cpu_of(self._child.pid)

    async def _recv_exact(self, stream: trio.SocketStream, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = await stream.receive_some(n - len(buf))
            if not chunk:
                raise StoreUnavailable("the store's process died", recoverable=False)
            buf += chunk
        return bytes(buf)

    async def _write_units(self, units: list[Changes]) -> tuple[list[UnitResult], int]:
        if self._stream is None:
            self._stream = trio.SocketStream(trio.socket.from_stdlib_socket(self._sock))
        t0 = time.thread_time()
        data = dumps_units(units, self.boot_id) if self._rows else pickle.dumps(units, PICKLE)
        self.ipc_cpu += time.thread_time() - t0
        self.units_sent += len(units)
        await self._stream.send_all(HEADER.pack(len(data)) + data)
        (size,) = HEADER.unpack(await self._recv_exact(self._stream, HEADER.size))
        t0 = time.thread_time()
        reply = pickle.loads(await self._recv_exact(self._stream, size))
        if reply[0] == "unavailable":
            self.health.failed(error := StoreUnavailable(reply[1], recoverable=reply[2]))
            raise error
        if reply[0] == "crash":
            raise RuntimeError(f"the store's process failed: {reply[1]}")
        results = rebuild(units, reply[1])
        self.ipc_cpu += time.thread_time() - t0
        return results, reply[2]

    def close(self) -> None:
        self._sock.close()
        self._child.wait(timeout=30)
        super().close()


class TimedStore(_Timed, SqliteStore):
    """Today's store (the thread hop), recording the same commit latencies."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.latencies = []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--serve", type=int, required=True, help="the socket's fd")
    p.add_argument("--rows", action="store_true", help="batches come pre-encoded")
    p.add_argument("path")
    a = p.parse_args()
    serve(a.serve, a.path, bytes.fromhex(os.environ.get("GNOMON_BENCH_KEY", "")), a.rows)


if __name__ == "__main__":
    main()
