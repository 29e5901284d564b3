"""The SQLite store's WAL checkpoints, moved off the commit path (docs/store.md).

SQLite's automatic checkpoint runs inside the commit that crosses
``wal_autocheckpoint`` pages: it syncs the WAL, copies it back into the database file
and syncs that (5–20 ms on a slow disk), and the fire whose claim rides in that commit
is late by it. Here the work is split in two:

* a thread with a connection of its own runs ``wal_checkpoint(PASSIVE)`` once
  :data:`FRAMES` WAL frames wait to be copied back (it reads the count from the WAL
  index every :data:`POLL` seconds while the writer commits). PASSIVE never blocks the
  writer, which keeps appending to the WAL meanwhile; the bulk of the copying and both
  syncs happen here;
* the writer finishes the rest itself (:meth:`Checkpointer.finish`, a PASSIVE
  checkpoint on its own connection) when its queue is empty: only the frames appended
  during the background pass are left, so it is short. With the WAL wholly copied back,
  the writer starts the WAL file over from its beginning, so the file stays bounded
  (when the writer was idle throughout a background pass, that pass does it).

SQLite's own automatic checkpoint stays on at :data:`AUTO_BOUND` pages as the bound: a
writer that is never idle (a storm), or a background thread that failed, still gets
its WAL checkpointed inline, as before but less often. The synchronous setting, and so
what a commit guarantees, is unchanged: the background connection uses the store's.

Errors: a failing background checkpoint is logged and retried at the next look (the
writer's own commits report the store's faults). Nothing here knows about trio.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import threading
import time

from gnomon.runtime.store.chain import PUT_META

log = logging.getLogger("gnomon.store")

#: How often the WAL of a writing store is looked at (seconds).
POLL = 0.01
#: A background pass starts once this many WAL frames wait to be copied back (SQLite's
#: own default for its automatic checkpoint, so as many passes as it would run).
FRAMES = 1000
#: Without a readable ``-shm`` to count frames in, a pass at most this often (seconds).
PERIOD = 0.1
#: SQLite's inline automatic checkpoint, the bound (pages in the WAL).
AUTO_BOUND = 4000
#: The writer finishes a background pass only while at most this many frames wait: more
#: are what a busy writer appended since (or a WAL that started over and filled again),
#: a background pass's work, which the writer would do at its own commits' expense.
LEFTOVER = FRAMES // 4


class Checkpointer:
    """The background half of the checkpoints of the database at ``path`` (see the
    module docstring). :meth:`start` it after the writer's connection is open;
    :meth:`close` it before closing that connection (the last connection to close
    checkpoints and removes the WAL).

    Args:
        path: the database file.
        synchronous: the store's ``PRAGMA synchronous`` (the checkpoint's syncs follow it).

    Attributes:
        frames: a pass starts once this many WAL frames wait (:data:`FRAMES`).
    """

    def __init__(self, path: str, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self.frames = FRAMES
        self.leftover = LEFTOVER
        self._shm: int | None = None  # the writer's look at the WAL index (``behind``)
        self._last = 0.0  # when the last pass ended (monotonic)
        self._dirty = threading.Event()  # a commit since the last pass
        self._stop = threading.Event()
        self._behind = threading.Event()  # a pass ended: the writer should finish
        self._thread: threading.Thread | None = None
        self.passes = 0  # background passes that copied frames (stats, tests)
        self.finishes = 0  # the writer's finishing passes

    def start(self) -> None:
        """Start the background thread (a daemon thread: a killed process loses no
        more than SQLite's own crash safety allows, which is nothing committed)."""
        self._shm = _open_shm(self._path)
        self._thread = threading.Thread(target=self._loop, name="gnomon-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """The writer committed a transaction (called on the writer's thread)."""
        self._dirty.set()

    @property
    def behind(self) -> bool:
        """A background pass ended since the writer last finished one, and the writer
        should finish it now: at most :attr:`leftover` frames wait to be copied back
        (read from the WAL index, a ``pread``: cheap enough for the trio thread). More
        wait when the writer kept appending, or the WAL started over and filled again,
        since the pass: the background thread's next pass copies them, and the writer
        looks again when it is next idle."""
        if not self._behind.is_set():
            return False
        index = None if self._shm is None else wal_index(self._shm)
        return index is None or index[0] - index[1] <= self.leftover

    def finish(self, conn: sqlite3.Connection) -> None:
        """Checkpoint what the background pass left, on the writer's connection ``conn``
        (the writer's thread, between transactions). When that copied the whole WAL back,
        a one-row write (``meta.checkpoint_ts``) starts the WAL file over at once: the
        first commit of a new WAL syncs its header, and this way that sync is paid here,
        while no unit waits, instead of in the next commit (maybe a fire's claim).

        Raises:
            sqlite3.Error: the checkpoint failed (the store's executor reports it).
        """
        self._behind.clear()
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if not busy and frames == copied > 0:  # all copied back: start the WAL over now
            conn.execute(PUT_META, ("checkpoint_ts", repr(time.time())))
        self.finishes += 1

    def close(self) -> None:
        """Stop the thread and wait for a pass in progress to end (at most one pass)."""
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._shm is not None:
            os.close(self._shm)
            self._shm = None

    def _loop(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.error("background checkpoints of %s off: %s", self._path, exc)
            return
        shm = _open_shm(self._path)
        try:
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=0")
            while not self._stop.is_set():
                self._dirty.wait()
                self._dirty.clear()  # before the look: a later commit sets it again
                if self._stop.wait(POLL):
                    return
                if self._due(shm):
                    left = self._pass(conn, shm)
                    self._last = time.monotonic()
                    if left >= self.frames and self._stop.wait(PERIOD):
                        return  # a reader (a backup) holds the WAL: try less often
        finally:
            conn.close()
            if shm is not None:
                os.close(shm)

    def _due(self, shm: int | None) -> bool:
        waiting = None if shm is None else waiting_frames(shm)
        if waiting is None:
            return time.monotonic() - self._last >= PERIOD
        return waiting >= self.frames

    def _pass(self, conn: sqlite3.Connection, shm: int | None) -> int:
        """One background checkpoint; when it copied the whole WAL (the writer was idle
        meanwhile), start the WAL over here rather than leave that to the writer — and
        leave it to the writer after all when the WAL did not start over (SQLite starts
        it over only when no other connection reads from it at that moment).
        Returns the frames it left (0 after a failure, which is logged)."""
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            busy, frames, copied = int(row[0]), int(row[1]), int(row[2])
            if copied <= 0:
                return max(0, frames)
            self.passes += 1
            if busy or frames != copied or not _restart(conn) or not _over(shm, frames):
                self._behind.set()
            return max(0, frames - copied)
        except sqlite3.Error as exc:
            log.warning("background checkpoint of %s failed: %s", self._path, exc)
            return 0


def _restart(conn: sqlite3.Connection) -> bool:
    """Write ``meta.checkpoint_ts`` on the background connection unless the writer holds
    the write lock (then ``False``: the writer finishes instead). Its busy timeout is 0,
    so it never waits; the writer waits for this one-row transaction at most."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if sqlite3_busy(exc):
            return False
        raise
    try:
        conn.execute(PUT_META, ("checkpoint_ts", repr(time.time())))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


def sqlite3_busy(exc: sqlite3.OperationalError) -> bool:
    """The error is SQLite's ``SQLITE_BUSY`` (a lock held by another connection)."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _open_shm(path: str) -> int | None:
    """The WAL index (``<path>-shm``) opened for reading; ``None`` when it cannot be."""
    try:
        return os.open(f"{path}-shm", os.O_RDONLY)
    except OSError as exc:
        log.warning("cannot read %s-shm (%s): background checkpoints by time", path, exc)
        return None


def _over(shm: int | None, frames: int) -> bool:
    """The WAL started over: it holds fewer than the ``frames`` it held before."""
    index = None if shm is None else wal_index(shm)
    return index is not None and index[0] < frames


def waiting_frames(shm: int) -> int | None:
    """Frames of the WAL not copied back yet (see :func:`wal_index`)."""
    index = wal_index(shm)
    return None if index is None else max(0, index[0] - index[1])


def wal_index(shm: int) -> tuple[int, int] | None:
    """The frames in the WAL and the frames copied back, from the WAL index's header
    (https://sqlite.org/walformat.html: ``mxFrame`` at byte 16, ``nBackfill`` at byte
    96, native byte order). Read without SQLite's locks, so an estimate; ``None`` when
    the header cannot be read."""
    try:
        head = os.pread(shm, 100, 0)
    except OSError:
        return None
    if len(head) < 100:
        return None
    last: int = struct.unpack_from("=I", head, 16)[0]
    copied: int = struct.unpack_from("=I", head, 96)[0]
    return last, copied
