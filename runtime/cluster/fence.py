"""The store's fence for a cluster node: a unit commits only while its partitions are
this node's at the epochs it took them with.

:func:`store_fence` builds the callable ``PgStore(fence=…)`` calls inside each commit's
transaction, before the unit's writes. It raises :class:`~.sql.Fenced` to refuse that
unit alone (counted in ``gnomon_cluster_fenced_writes``); the check is a plain ``SELECT …
FOR SHARE``, so a refusal leaves the transaction usable for the other units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import psycopg

from gnomon.runtime.cluster import sql
from gnomon.runtime.cluster.core import partition_of
from gnomon.runtime.cluster.metrics import ClusterMetrics
from gnomon.runtime.store import Changes

U = TypeVar("U", contravariant=True)


class Holder(Protocol):
    """What the fence reads of a membership (:class:`.membership.Membership`)."""

    boot_id: str
    metrics: ClusterMetrics | None

    def epochs(self, ps: Iterable[int]) -> dict[int, int]: ...


Fence = Callable[[psycopg.Connection[Any], U], None]


def store_fence(membership: Holder, partition_of_unit: Callable[[U], Iterable[int]]) -> Fence[U]:
    """The fence for ``PgStore``: ``fence(conn, unit)``.

    A unit touching no partition (a daemon announcement) passes while the node is not
    fenced.

    Raises (from the returned callable):
        sql.Fenced: the node is fenced, does not hold a partition of the unit, or the
            database says the partition moved to a later epoch.
    """

    def fence(conn: psycopg.Connection[Any], unit: U) -> None:
        try:
            epochs = membership.epochs(partition_of_unit(unit))
            sql.cluster_fence(conn, membership.boot_id, epochs)
        except sql.Fenced:
            if membership.metrics is not None:
                membership.metrics.fenced_writes.inc()
            raise

    return fence


def changes_partitions(partitions: int) -> Callable[[Changes], set[int]]:
    """``partition_of_unit`` for the engine's units: the partitions of every job a
    :class:`~gnomon.runtime.store.Changes` writes, claims, runs, deletes or reports on."""

    def of(unit: Changes) -> set[int]:
        ids = {job.id for job in unit.jobs}
        ids.update(job_id for job_id, _ in unit.claims)
        ids.update(run.job_id for run in unit.runs)
        ids.update(unit.deleted_jobs)
        ids.update(e.job_id for e in unit.events if e.job_id is not None)
        return {partition_of(job_id, partitions) for job_id in ids}

    return of
