"""The SQLite store's WAL checkpoints, moved off the commit path (docs/store.md).

SQLite's automatic checkpoint runs inside the commit that crosses
``wal_autocheckpoint`` pages: it syncs the WAL, copies it back into the database file
and syncs that (5–20 ms on a slow disk), and the fire whose claim rides in that commit
is late by it. Here the work is split in two:

* a thread with a connection of its own runs ``wal_checkpoint(PASSIVE)`` at most every
  :data:`PERIOD` seconds while the writer commits. PASSIVE never blocks the writer,
  which keeps appending to the WAL meanwhile; the bulk of the copying and both syncs
  happen here;
* the writer finishes the rest itself (:meth:`Checkpointer.finish`, a PASSIVE
  checkpoint on its own connection) when its queue is empty: only the frames appended
  during the background pass are left, so it is short. With the WAL wholly copied back,
  the writer starts the WAL file over from its beginning, so the file stays bounded
  (when the writer was idle throughout a background pass, that pass does it).

SQLite's own automatic checkpoint stays on at :data:`AUTO_BOUND` pages as the bound: a
writer that is never idle (a storm), or a background thread that failed, still gets
its WAL checkpointed inline, as before but less often. The synchronous setting, and so
what a commit guarantees, is unchanged: the background connection uses the store's.

Errors: a failing background checkpoint is logged and retried at the next period (the
writer's own commits report the store's faults). Nothing here knows about trio.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from gnomon.runtime.store.chain import PUT_META

log = logging.getLogger("gnomon.store")

#: The background pass runs at most this often (seconds) while commits arrive.
PERIOD = 0.1
#: SQLite's inline automatic checkpoint, the bound (pages in the WAL).
AUTO_BOUND = 4000


class Checkpointer:
    """The background half of the checkpoints of the database at ``path`` (see the
    module docstring). :meth:`start` it after the writer's connection is open;
    :meth:`close` it before closing that connection (the last connection to close
    checkpoints and removes the WAL).

    Args:
        path: the database file.
        synchronous: the store's ``PRAGMA synchronous`` (the checkpoint's syncs follow it).
        period: the least time between two background passes.
    """

    def __init__(self, path: str, synchronous: str, period: float = PERIOD) -> None:
        self._path = path
        self._synchronous = synchronous
        self._period = period
        self._dirty = threading.Event()  # a commit since the last pass
        self._stop = threading.Event()
        self._behind = threading.Event()  # a pass ended: the writer should finish
        self._thread: threading.Thread | None = None
        self.passes = 0  # background passes that copied frames (stats, tests)
        self.finishes = 0  # the writer's finishing passes

    def start(self) -> None:
        """Start the background thread (a daemon thread: a killed process loses no
        more than SQLite's own crash safety allows, which is nothing committed)."""
        self._thread = threading.Thread(target=self._loop, name="gnomon-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """The writer committed a transaction (called on the writer's thread)."""
        self._dirty.set()

    @property
    def behind(self) -> bool:
        """A background pass ended since the writer last finished one."""
        return self._behind.is_set()

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
        self.finishes += 1
        if not busy and frames == copied > 0:  # all copied back: start the WAL over now
            conn.execute(PUT_META, ("checkpoint_ts", repr(time.time())))

    def close(self) -> None:
        """Stop the thread and wait for a pass in progress to end (at most one pass)."""
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.error("background checkpoints of %s off: %s", self._path, exc)
            return
        try:
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=0")
            while True:
                self._dirty.wait()
                if self._stop.wait(self._period):
                    return
                self._dirty.clear()
                self._pass(conn)
        finally:
            conn.close()

    def _pass(self, conn: sqlite3.Connection) -> None:
        """One background checkpoint; when it copied the whole WAL (the writer was idle
        meanwhile), start the WAL over here rather than leave that to the writer."""
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if copied <= 0:
                return
            self.passes += 1
            if busy or frames != copied or not _restart(conn):
                self._behind.set()
        except sqlite3.Error as exc:
            log.warning("background checkpoint of %s failed: %s", self._path, exc)


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
