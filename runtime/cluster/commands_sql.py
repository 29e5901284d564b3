"""Commands between nodes and job resolution in PostgreSQL (the table ``cluster_commands``
of ``schema.sql``; the rules in :mod:`.commands_core`).

Synchronous psycopg calls on an autocommit connection, each one transaction, run from
trio worker threads by :mod:`.commands`; a database error propagates as
:class:`psycopg.Error`.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import psycopg

from gnomon.runtime.cluster import commands_core as core
from gnomon.runtime.cluster.names import LIVE, OWNER_NODE

Conn = psycopg.Connection[Any]
#: NOTIFY channels: a command was sent (payload: its partition) or answered (its id).
SENT = "gnomon_commands"
DONE = "gnomon_command_done"
KEEP_DONE = "1 hour"  # answered commands are deleted after this


@attrs.frozen
class Command:
    """A command claimed by this node, to apply."""

    id: int
    job_id: str
    command: str
    params: dict[str, Any]


@attrs.frozen
class State:
    """Where a sent command stands: claimed by a node, and its result once answered."""

    claimed: bool
    result: str | None


def send(
    conn: Conn, *, job_id: str, p: int, command: str, params: dict[str, Any], boot: str
) -> int:
    """Insert a command for the owner of partition ``p`` and NOTIFY; its id."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO cluster_commands (job_id, p, command, params, from_boot)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (job_id, p, command, json.dumps(params), boot),
        ).fetchone()
        conn.execute("SELECT pg_notify(%s, %s)", (SENT, str(p)))
    assert row is not None
    return int(row[0])


_CLAIM = """
UPDATE cluster_commands c
SET claimed_boot = %(me)s, claimed_epoch = pt.epoch, claimed_at = now()
FROM cluster_partitions pt
WHERE pt.p = c.p AND pt.owner_boot = %(me)s AND c.done_at IS NULL
  AND (c.claimed_boot IS NULL
       OR (c.command = ANY(%(repeatable)s) AND c.claimed_boot <> %(me)s
           AND NOT EXISTS (SELECT 1 FROM cluster_nodes n
                           WHERE n.boot_id = c.claimed_boot AND n.lease_until > now())))
RETURNING c.id, c.job_id, c.command, c.params
"""
_ABANDON = """
UPDATE cluster_commands c SET result = %(result)s, done_at = now()
FROM cluster_partitions pt
WHERE pt.p = c.p AND pt.owner_boot = %(me)s AND c.done_at IS NULL
  AND c.claimed_boot IS NOT NULL AND c.claimed_boot <> %(me)s
  AND NOT (c.command = ANY(%(repeatable)s))
  AND NOT EXISTS (SELECT 1 FROM cluster_nodes n
                  WHERE n.boot_id = c.claimed_boot AND n.lease_until > now())
RETURNING c.id
"""


def claim(conn: Conn, me: str) -> list[Command]:
    """Claim the open commands of the partitions ``me`` holds (see :mod:`.commands_core`:
    unclaimed ones, and repeatable ones whose claimer's lease ran out); answer the
    others whose claimer died as abandoned. Also deletes long-answered commands."""
    args = {"me": me, "repeatable": sorted(core.REPEATABLE), "result": core.ABANDONED}
    with conn.transaction():
        rows = conn.execute(_CLAIM, args).fetchall()
        for (gone,) in conn.execute(_ABANDON, args).fetchall():
            conn.execute("SELECT pg_notify(%s, %s)", (DONE, str(gone)))
        conn.execute(f"DELETE FROM cluster_commands WHERE done_at < now() - interval '{KEEP_DONE}'")
    return [Command(int(i), str(j), str(c), json.loads(str(p))) for i, j, c, p in rows]


def finish(conn: Conn, command_id: int, me: str, result: str) -> bool:
    """Write the result of a command ``me`` claimed, and NOTIFY; False if it was not
    ``me``'s to answer any more (taken over after this node's lease ran out)."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE cluster_commands SET result = %s, done_at = now()"
            " WHERE id = %s AND claimed_boot = %s AND done_at IS NULL RETURNING id",
            (result, command_id, me),
        ).fetchone()
        if row is not None:
            conn.execute("SELECT pg_notify(%s, %s)", (DONE, str(command_id)))
    return row is not None


def unclaim(conn: Conn, command_id: int, me: str) -> None:
    """Give a claimed command back unapplied (this node cannot apply it now), NOTIFYing
    so that the partition's owner claims it."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE cluster_commands SET claimed_boot = NULL, claimed_epoch = NULL,"
            " claimed_at = NULL WHERE id = %s AND claimed_boot = %s AND done_at IS NULL"
            " RETURNING p",
            (command_id, me),
        ).fetchone()
        if row is not None:
            conn.execute("SELECT pg_notify(%s, %s)", (SENT, str(row[0])))


def states(conn: Conn, ids: list[int]) -> dict[int, State]:
    """Where the commands ``ids`` stand (a missing id is not in the result)."""
    rows = conn.execute(
        "SELECT id, claimed_boot IS NOT NULL, result FROM cluster_commands WHERE id = ANY(%s)",
        (ids,),
    ).fetchall()
    return {int(i): State(bool(c), None if r is None else str(r)) for i, c, r in rows}


def withdraw(conn: Conn, command_id: int, result: str) -> bool:
    """Answer an unclaimed command with ``result`` so that nobody applies it; False if a
    node claimed (or answered) it first."""
    row = conn.execute(
        "UPDATE cluster_commands SET result = %s, done_at = now()"
        " WHERE id = %s AND claimed_boot IS NULL AND done_at IS NULL RETURNING id",
        (result, command_id),
    ).fetchone()
    return row is not None


def owner_node(conn: Conn, p: int) -> str | None:
    """The name of the node holding partition ``p`` (None: free)."""
    row = conn.execute(OWNER_NODE, (p,)).fetchone()
    return None if row is None else str(row[0])


_COLUMNS = "SELECT id, name, status, owner FROM jobs"


def _found(rows: list[tuple[Any, ...]]) -> list[core.Found]:
    return [core.Found(str(i), str(n), str(s), str(o)) for i, n, s, o in rows]


def resolve(conn: Conn, ref: str, min_prefix: int) -> list[core.Found]:
    """The jobs ``ref`` names, as one node's directory resolves: an id, a live job's name,
    the latest updated job of that name, else the ids it prefixes (at most 6, when at least
    ``min_prefix`` characters)."""
    for query in (
        f"{_COLUMNS} WHERE id = %s",
        f"{_COLUMNS} WHERE name = %s AND {LIVE} LIMIT 1",
        f"{_COLUMNS} WHERE name = %s ORDER BY updated_ts DESC LIMIT 1",
    ):
        rows = conn.execute(query, (ref,)).fetchall()
        if rows:
            return _found(rows)
    if len(ref) < min_prefix:
        return []
    pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(f"{_COLUMNS} WHERE id LIKE %s ORDER BY id LIMIT 6", (pattern,)).fetchall()
    return _found(rows)


def live_jobs(conn: Conn) -> int:
    """Live jobs in the cluster (``limits.max_jobs``; the partial index answers it)."""
    row = conn.execute(f"SELECT count(*) FROM jobs WHERE {LIVE}").fetchone()
    return 0 if row is None else int(row[0])


def dependents(conn: Conn, job_id: str) -> list[str]:
    """The live jobs whose ``depends_on`` lists ``job_id`` (through a partial index of
    the live jobs that have dependencies)."""
    rows = conn.execute(
        f"SELECT id FROM jobs WHERE depends_on <> '[]' AND {LIVE} AND depends_on LIKE %s",
        (f"%{json.dumps(job_id)}%",),
    ).fetchall()
    return [str(r[0]) for r in rows]
