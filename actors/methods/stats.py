"""``stats.fires`` and ``cluster.nodes`` as a family: the fire window the daemon's bus feeds
(actors/fire_stats.py) and the cluster's members (docs/cluster.md)."""

from __future__ import annotations

from typing import Any

from gnomon.actors.fire_stats import FireStatsMethods
from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_system import ClusterNodes


class StatsMethods:
    """See the module docstring."""

    def __init__(self, ctx: MethodContext) -> None:
        self.ctx = ctx
        self.fire_stats = FireStatsMethods(
            ctx.fire_window, ctx.store.events, ctx.store.last_seq, ctx.clock.now
        )

    def handlers(self) -> dict[str, Handler]:
        return {
            **self.fire_stats.handlers(),
            names.CLUSTER_NODES: self.cluster_nodes,
        }

    async def cluster_nodes(self, caller: Caller, _: Any) -> ClusterNodes:
        """The cluster's members; ``clustered: false`` when the daemon is alone. Raises the
        store's errors (the call fails)."""
        return await self.ctx.cluster_nodes()
