"""The exclusive lock of a PostgreSQL store that is not clustered: one daemon per database
(docs/store.md). A session advisory lock held by a connection of its own, so it goes with
that connection — also when the daemon is killed."""

from __future__ import annotations

from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.store.health import log
from gnomon.runtime.store.pg_conn import Conn, alive, connect

#: ``pg_try_advisory_lock(int4, int4)`` key of the exclusive daemon ("gnmn", 1).
EXCLUSIVE_LOCK = (0x676E6D6E, 1)


class ExclusiveLock:
    """The lock and its connection; ``path`` is the URL as messages show it."""

    def __init__(self, url: str, path: str, conn: Conn) -> None:
        self.url, self.path, self.conn = url, path, conn

    @classmethod
    def take(cls, url: str, path: str) -> ExclusiveLock:
        """Take the lock on a new connection.

        Raises:
            StoreUnavailable: another daemon holds it (``database in use``).
            psycopg.OperationalError: the server cannot be reached.
        """
        return cls(url, path, _hold(url, path))

    def keep(self) -> None:
        """Take the lock again if its connection was lost (a server restart, a terminated
        backend: an idle connection with something to read was closed by the server). On
        the writer's thread, before each transaction.

        Raises:
            StoreUnavailable: another daemon took the database meanwhile (not recoverable:
                this daemon must not write to it again).
            psycopg.OperationalError: the server cannot be reached (yet).
        """
        if alive(self.conn):
            return
        self.conn.close()
        log.warning("exclusive lock on %s lost with its connection; taking it again", self.path)
        self.conn = _hold(self.url, self.path)

    def close(self) -> None:
        self.conn.close()


def _hold(url: str, path: str) -> Conn:
    conn = connect(url)
    got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", EXCLUSIVE_LOCK).fetchone()
    if got is not None and got[0]:
        return conn
    holder = conn.execute(
        "SELECT a.application_name, a.client_addr FROM pg_locks l"
        " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid = %s AND l.objid = %s AND l.granted",
        EXCLUSIVE_LOCK,
    ).fetchone()
    conn.close()
    who = f"{holder[0] or 'a client'} from {holder[1] or 'a local socket'}" if holder else "?"
    raise StoreUnavailable(
        f"database in use: {path} is used by another gnomon daemon ({who}); stop"
        " it, or give this daemon another database",
        recoverable=False,
    )
