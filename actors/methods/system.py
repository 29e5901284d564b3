"""``system.health`` and ``system.stats``: the daemon's own state (docs/protocol.md).

``audit.verify`` lives with the events (methods/events.py); ``system.hello``,
``system.login_url`` and ``system.session`` are the gateway's (runtime/gateway/).
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model import payloads
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_system import Health, Stats
from gnomon.runtime.store import EventQuery


@attrs.frozen
class SystemMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {names.SYSTEM_HEALTH: self.health, names.SYSTEM_STATS: self.stats}

    async def health(self, caller: Caller | None, _: Any) -> Health:
        """A real write through the store's writer (or its standing fault: a full disk,
        corruption met at run time) and the engine's supervisor.

        Never raises for the store's state: a failed probe is the ``reason``.
        Cancellation: the probe write stays queued and is written later.
        """
        ctx = self.ctx
        store_problem = await ctx.store.problem()
        healthy, fenced = ctx.tree.core.running, ctx.cluster_fenced()
        problem = store_problem or (None if healthy else "the engine's supervisor stopped")
        if fenced and problem is None:
            problem = "this cluster node fenced itself: its lease could not be renewed"
        try:
            lag = await self.last_fire_lag()
        except GnomonError:  # a corrupt page under the last events: the reason says it
            lag = None
        return Health(
            ok=problem is None,
            store_writable=store_problem is None,
            tree_healthy=healthy,
            last_fire_lag=lag,
            uptime=time.monotonic() - ctx.started,
            reason=problem,
            fenced=fenced,
        )

    async def last_fire_lag(self) -> float | None:
        """``payload.lag`` of the newest ``job.fired`` among the last 1000 events.

        Raises:
            StoreUnavailable: the store cannot read its events.
        """
        last = await self.ctx.store.last_seq()
        query = EventQuery(since_seq=max(0, last - 1000), limit=1000, types=("job.fired",))
        fired = await self.ctx.store.events(query)
        return payloads.Fired.read(fired[-1].payload).lag if fired else None

    async def job_counts(self) -> dict[str, int]:
        """Jobs per status as stored — finished ones from before a restart too, as the
        dashboard counts them (the directory indexes only what this boot saw end)."""
        counts = await self.ctx.store.status_counts()
        return {s.value: n for s, n in sorted(counts.items()) if n}

    async def stats(self, caller: Caller, _: Any) -> Stats:
        """Counts of jobs, events, connections and open breakers."""
        return Stats(
            jobs=await self.job_counts(),
            events=await self.ctx.store.last_seq(),
            connections=self.ctx.connections(),
            uptime=time.monotonic() - self.ctx.started,
            breakers_open=len(self.ctx.tree.breakers.open_until()),
        )
