"""Unique live names across a cluster (docs/cluster.md, "What is global").

Each node's admission refuses a name live among *its* jobs; the database refuses a name
live among *all* jobs. :func:`names_fence` wraps the store's fence: in the committing
transaction, for every job a unit creates (a ``job.created`` event), it takes a
transaction-scoped advisory lock on the name (``pg_try_advisory_xact_lock``) and checks
that no other live job in ``jobs`` carries it. Two nodes racing for a name cannot both
win: the second either fails to get the lock (the first has not committed yet) or, once
it gets it, reads the first's committed row (READ COMMITTED: a fresh snapshot per
statement). A name is free again as soon as its job's row is terminal or deleted — there
is no second table to keep in step. The lock is only tried, never waited for, so two
batches locking names in different orders cannot deadlock.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gnomon.runtime.cluster.core import partition_of
from gnomon.runtime.cluster.fence import Fence
from gnomon.runtime.model.enums import TERMINAL_STATUSES
from gnomon.runtime.model.events import EventType
from gnomon.runtime.store import Changes, UnitRejected

_TERMINAL = ", ".join(sorted(f"'{s.value}'" for s in TERMINAL_STATUSES))
#: The partial index the check reads (created with the cluster schema, schema.sql).
LIVE = f"status NOT IN ({_TERMINAL})"
HOLDER = f"SELECT id FROM jobs WHERE name = %s AND id <> %s AND {LIVE} LIMIT 1"
LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended('gnomon-name:' || %s, 0))"
OWNER_NODE = (
    "SELECT n.node FROM cluster_partitions pt JOIN cluster_nodes n ON n.boot_id = pt.owner_boot"
    " WHERE pt.p = %s"
)


class LiveNameTaken(UnitRejected):
    """A unit creating a job whose name is live on another node (or being taken by one
    right now). Answered as a ``Conflict`` (exit 2, JSON-RPC -32002), as on one node."""

    exit_code = 2
    rpc_code = -32002


def created_names(unit: Changes) -> list[tuple[str, str]]:
    """``(name, job id)`` of the live jobs ``unit`` creates, sorted by name."""
    created = {e.job_id for e in unit.events if e.type is EventType.JOB_CREATED}
    return sorted(
        (job.spec.name, job.id)
        for job in unit.jobs
        if job.id in created and not job.status.terminal
    )


def check_live_names(conn: psycopg.Connection[Any], unit: Changes, partitions: int) -> None:
    """Refuse ``unit`` if a job it creates takes a name live elsewhere (see the module
    docstring); inside the committing transaction, before the unit is written.

    Raises:
        LiveNameTaken: the name is live, or another transaction is creating it now.
    """
    for name, job_id in created_names(unit):
        locked = conn.execute(LOCK, (name,)).fetchone()
        if not (locked and locked[0]):
            raise LiveNameTaken(
                f"a job named {name!r} is being created on another node right now",
                hint="pick another name, or retry to see which one won",
            )
        row = conn.execute(HOLDER, (name, job_id)).fetchone()
        if row is not None:
            holder = str(row[0])
            node = conn.execute(OWNER_NODE, (partition_of(holder, partitions),)).fetchone()
            where = f" on node {node[0]}" if node else ""
            raise LiveNameTaken(
                f"a live job is already named {name!r} (id {holder}{where})",
                hint="pick another name, or pass --replace to update it",
            )


def names_fence(inner: Fence[Changes], partitions: int) -> Fence[Changes]:
    """``inner`` (the partitions' fence), then :func:`check_live_names`."""

    def fence(conn: psycopg.Connection[Any], unit: Changes) -> None:
        inner(conn, unit)
        check_live_names(conn, unit, partitions)

    return fence
