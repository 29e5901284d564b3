"""``cluster.nodes``: the members as the database sees them (``gnomon nodes``)."""

from __future__ import annotations

import attrs
import psycopg
import trio

from gnomon.runtime.cluster import sql
from gnomon.runtime.cluster.membership import Membership
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.protocol import ClusterNodes, NodeInfo
from gnomon.runtime.store.urls import safe_url


async def list_members(member: Membership) -> ClusterNodes:
    """Live members and those whose lease ran out in the last minute, on a connection of
    its own (a worker thread; cancelling abandons the answer, not the read).

    Raises:
        StoreUnavailable: the database cannot be reached (exit 5).
    """

    def read() -> list[sql.NodeRow]:
        with sql.connect(member.dsn) as conn:
            return sql.list_nodes(conn)

    try:
        rows = await trio.to_thread.run_sync(read, abandon_on_cancel=True)
    except (psycopg.Error, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreUnavailable(
            f"cluster database unreachable: {safe_url(member.dsn)}: {first}"
        ) from exc
    return ClusterNodes(
        clustered=True,
        partitions=member.partitions,
        nodes=tuple(
            NodeInfo(**attrs.asdict(row), this=row.boot_id == member.boot_id) for row in rows
        ),
    )
