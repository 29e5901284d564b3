"""Cluster membership in PostgreSQL: synchronous psycopg calls, one connection each.

Every function takes an open connection in autocommit mode (see :func:`connect`) and runs
its statements in one transaction. Lease times are the database's ``now()``, never a
node's clock. Callers run these from trio worker threads (:mod:`.membership`); a database
error propagates as :class:`psycopg.Error` and leaves the connection usable or broken,
which the caller finds out on its next call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib import resources

import attrs
import psycopg
from psycopg.rows import TupleRow

from gnomon.runtime.store import PartitionMoved

__all__ = [
    "CHANNEL",
    "ClusterConfigError",
    "Fenced",
    "NodeRow",
    "Snapshot",
    "cluster_fence",
    "connect",
    "ensure_schema",
    "leave",
    "list_nodes",
    "notify",
    "register",
    "release",
    "renew",
    "take",
]

#: The NOTIFY channel: a node joined, left or released partitions; others re-plan at once.
CHANNEL = "gnomon_cluster"
Conn = psycopg.Connection[TupleRow]
_SCHEMA_LOCK = 0x676E6F6D6F6E  # "gnomon": serialises concurrent schema creation


class Fenced(PartitionMoved):
    """A write refused: this node no longer holds a partition at the epoch it took it with
    (or its lease ran out). Raised by :func:`cluster_fence`; the unit fails alone."""


class ClusterConfigError(Exception):
    """The database's cluster settings disagree with this node's (partition count)."""


@attrs.frozen
class Snapshot:
    """One renewal: the database time it happened at, the live node count, and the
    partitions the database says this boot holds (``p -> epoch``); the live boots (this
    one included) and the *lapsed* ones: live at this boot's previous renewal, expired
    now and still holding partitions (what :class:`.core.Settling` spares after an
    outage)."""

    db_time: float
    live: int
    held: Mapping[int, int]
    next_expiry: float | None = None  # seconds until another owner's lease runs out
    live_boots: frozenset[str] = frozenset()
    lapsed: frozenset[str] = frozenset()


@attrs.frozen
class NodeRow:
    """A member as ``cluster.nodes`` shows it (ages in seconds by the database clock)."""

    node: str
    boot_id: str
    host: str
    pid: int
    url: str
    started_at: datetime
    lease_age: float
    lease_left: float
    partitions: int
    live: bool


def connect(dsn: str, *, timeout: float = 2.0) -> Conn:
    """An autocommit connection whose statements, lock waits and idle transactions time
    out (a frozen node never keeps row locks for long).

    Raises:
        psycopg.OperationalError: the database cannot be reached within ``timeout``.
    """
    ms = int(timeout * 1000)
    options = (
        f"-c statement_timeout={ms} -c lock_timeout={ms}"
        f" -c idle_in_transaction_session_timeout={ms * 2}"
    )
    return psycopg.connect(
        dsn,
        autocommit=True,
        connect_timeout=max(1, round(timeout)),
        options=options,
        application_name="gnomon-cluster",
    )


def ensure_schema(conn: Conn, partitions: int) -> int:
    """Create the cluster tables and ``partitions`` rows if missing; return the count.

    Raises:
        ClusterConfigError: the database was set up with another partition count.
    """
    ddl = resources.files(__package__).joinpath("schema.sql").read_text()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        conn.execute(ddl)  # constant text from the package
        row = conn.execute("SELECT value FROM cluster_meta WHERE key = 'partitions'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO cluster_meta (key, value) VALUES ('partitions', %s)",
                (str(partitions),),
            )
            conn.execute(
                "INSERT INTO cluster_partitions (p) SELECT generate_series(0, %s - 1)"
                " ON CONFLICT DO NOTHING",
                (partitions,),
            )
            return partitions
    stored = int(str(row[0]))
    if stored != partitions:
        raise ClusterConfigError(
            f"cluster.partitions is {partitions} but the database was set up with {stored};"
            f" set cluster.partitions = {stored} (the count is fixed for a database)"
        )
    return stored


def register(
    conn: Conn,
    *,
    boot_id: str,
    node: str,
    host: str,
    pid: int,
    url: str,
    ttl: float,
) -> None:
    """Add this boot as a member with a fresh lease (or renew the row if it exists)."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO cluster_nodes (boot_id, node, host, pid, url, lease_until)"
            " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (boot_id) DO UPDATE SET lease_until = EXCLUDED.lease_until,"
            " beat_at = now()",
            (boot_id, node, host, pid, url, ttl),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"join {boot_id}"))


def renew(conn: Conn, boot_id: str, ttl: float, url: str = "") -> Snapshot | None:
    """Extend this boot's lease to ``now() + ttl`` (noting its ``url``) and read the
    membership.

    Returns None when this boot has no row any more (removed as long dead): the caller
    registers again, holding nothing.
    """
    with conn.transaction():
        row = conn.execute(_RENEW, (ttl, url, boot_id)).fetchone()
        if row is None:
            return None
        members = conn.execute(_MEMBERS, (row[1],)).fetchall()
        live = frozenset(str(b) for b, valid, _ in members if valid)
        held = conn.execute(
            "SELECT p, epoch FROM cluster_partitions WHERE owner_boot = %s", (boot_id,)
        ).fetchall()
        expiry = conn.execute(
            "SELECT extract(epoch FROM min(n.lease_until) - now())::float8"
            " FROM cluster_nodes n WHERE n.lease_until > now() AND n.boot_id <> %s"
            " AND EXISTS (SELECT 1 FROM cluster_partitions pt WHERE pt.owner_boot = n.boot_id)",
            (boot_id,),
        ).fetchone()
        conn.execute(
            "DELETE FROM cluster_nodes WHERE lease_until < now() - interval '1 hour'"
            " AND boot_id NOT IN (SELECT owner_boot FROM cluster_partitions"
            " WHERE owner_boot IS NOT NULL)"
        )
    return Snapshot(
        db_time=float(row[0]),
        live=len(live),
        held={int(p): int(e) for p, e in held},
        next_expiry=None if expiry is None or expiry[0] is None else float(expiry[0]),
        live_boots=live,
        lapsed=frozenset(str(b) for b, valid, holds in members if holds and not valid),
    )


#: The renewal; returns the database clock and this boot's previous ``beat_at``.
_RENEW = """
UPDATE cluster_nodes n SET lease_until = now() + make_interval(secs => %s),
    beat_at = now(), url = %s
FROM cluster_nodes old WHERE n.boot_id = %s AND old.boot_id = n.boot_id
RETURNING extract(epoch FROM clock_timestamp())::float8, old.beat_at
"""
#: The members live at this boot's previous renewal (``%s``: its ``beat_at`` then): whether
#: each is live now, and whether it holds partitions.
_MEMBERS = """
SELECT n.boot_id, n.lease_until > now(),
       EXISTS (SELECT 1 FROM cluster_partitions pt WHERE pt.owner_boot = n.boot_id)
FROM cluster_nodes n WHERE n.lease_until > %s
"""


_TAKE = """
WITH cand AS (
    SELECT pt.p, pt.owner_boot AS prev FROM cluster_partitions pt
    WHERE EXISTS (SELECT 1 FROM cluster_nodes me
                  WHERE me.boot_id = %(boot)s AND me.lease_until > now())
      AND (pt.owner_boot IS NULL OR (
              pt.owner_boot <> ALL(%(spared)s::text[]) AND NOT EXISTS (
              SELECT 1 FROM cluster_nodes n
              WHERE n.boot_id = pt.owner_boot AND n.lease_until > now())))
    ORDER BY pt.owner_boot IS NOT NULL, pt.p
    LIMIT %(want)s
    FOR UPDATE OF pt SKIP LOCKED
)
UPDATE cluster_partitions pt
SET owner_boot = %(boot)s, epoch = pt.epoch + 1, acquired_at = now()
FROM cand WHERE pt.p = cand.p
RETURNING pt.p, pt.epoch, cand.prev
"""


def take(
    conn: Conn, boot_id: str, want: int, spared: Iterable[str] = ()
) -> list[tuple[int, int, str | None]]:
    """Take up to ``want`` free or expired partitions, bumping each one's epoch; those of
    an owner in ``spared`` are left alone (:class:`.core.Settling`).

    Rows another node is taking right now are skipped (``FOR UPDATE SKIP LOCKED``), as
    are rows a committing write of their owner holds ``FOR SHARE``. Nothing is taken
    unless this boot's own lease is valid by the database clock.

    Returns:
        ``(p, new_epoch, previous_owner_boot)`` per partition taken; a previous owner means
        a takeover from a node whose lease expired.
    """
    if want <= 0:
        return []
    with conn.transaction():
        params = {"boot": boot_id, "want": want, "spared": sorted(spared)}
        rows = conn.execute(_TAKE, params).fetchall()
        if rows:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"take {boot_id}"))
    return [(int(p), int(e), None if prev is None else str(prev)) for p, e, prev in rows]


def release(conn: Conn, boot_id: str, ps: Iterable[int]) -> None:
    """Give partitions ``ps`` up (free for anyone at once) and NOTIFY the others."""
    with conn.transaction():
        conn.execute(
            "UPDATE cluster_partitions SET owner_boot = NULL WHERE owner_boot = %s AND p = ANY(%s)",
            (boot_id, list(ps)),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"release {boot_id}"))


def leave(conn: Conn, boot_id: str) -> None:
    """A graceful stop: free every partition, end the lease, NOTIFY the others."""
    with conn.transaction():
        conn.execute(
            "UPDATE cluster_partitions SET owner_boot = NULL WHERE owner_boot = %s", (boot_id,)
        )
        conn.execute("DELETE FROM cluster_nodes WHERE boot_id = %s", (boot_id,))
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"leave {boot_id}"))


def notify(conn: Conn, what: str) -> None:
    """Wake the other nodes' planners."""
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, what))


def cluster_fence(conn: Conn, boot_id: str, epochs: Mapping[int, int]) -> None:
    """Check, inside the caller's transaction, that this boot still holds every partition
    of ``epochs`` at that epoch and that its lease is valid by the database clock; lock
    those rows ``FOR SHARE`` so that no takeover commits until this transaction ends.

    Raises:
        Fenced: a partition moved on (or the lease ran out); nothing was written, and the
            transaction is still usable (no database error was raised).
    """
    if not epochs:
        return
    ps = sorted(epochs)
    rows = conn.execute(
        "SELECT pt.p, pt.epoch FROM cluster_partitions pt JOIN cluster_nodes n"
        " ON n.boot_id = pt.owner_boot"
        " WHERE pt.p = ANY(%s) AND pt.owner_boot = %s AND n.lease_until > now()"
        " FOR SHARE OF pt",
        (ps, boot_id),
    ).fetchall()
    have = {int(p): int(e) for p, e in rows}
    gone = [p for p in ps if have.get(p) != epochs[p]]
    if gone:
        raise Fenced(
            f"this node no longer holds partition(s) {', '.join(map(str, gone))}"
            " at the epoch it took them with; the write was refused",
            gone,
        )


def list_nodes(conn: Conn, window: float = 60.0) -> list[NodeRow]:
    """Members whose lease is valid or ran out less than ``window`` seconds ago."""
    rows = conn.execute(
        "SELECT n.node, n.boot_id, n.host, n.pid, n.url, n.started_at,"
        " extract(epoch FROM now() - n.beat_at)::float8,"
        " extract(epoch FROM n.lease_until - now())::float8,"
        " (SELECT count(*) FROM cluster_partitions pt WHERE pt.owner_boot = n.boot_id)"
        " FROM cluster_nodes n"
        " WHERE n.lease_until > now() - make_interval(secs => %s)"
        " ORDER BY n.node, n.started_at",
        (window,),
    ).fetchall()
    return [
        NodeRow(
            node=str(r[0]),
            boot_id=str(r[1]),
            host=str(r[2]),
            pid=int(r[3]),
            url=str(r[4]),
            started_at=r[5],
            lease_age=float(r[6]),
            lease_left=float(r[7]),
            partitions=int(r[8]),
            live=float(r[7]) > 0,
        )
        for r in rows
    ]
