"""``events.list`` and ``audit.verify``: the committed event log
(docs/protocol.md). ``events.subscribe`` streams are the gateway's (runtime/gateway/)."""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_events import AuditCheck, EventsParams, EventsResult
from gnomon.runtime.store import EventQuery


@attrs.frozen
class EventMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {names.EVENTS_LIST: self.list, names.AUDIT_VERIFY: self.audit_verify}

    async def list(self, caller: Caller, p: EventsParams) -> EventsResult:
        """One page of events, oldest first (``newest``: the newest ``limit``).

        Raises:
            NotFound: ``p.job`` names no job, live or finished, here or on another node.
            StoreUnavailable: the store cannot read (a corrupt page).
        """
        ctx = self.ctx
        # resolved as job.get does: another node's job or a finished one too (a cluster)
        job = (await ctx.state(p.job)).id if p.job else None
        found = await ctx.store.events(
            EventQuery(
                since_seq=p.since_seq,
                limit=p.limit + 1,
                job_id=job,
                types=p.types,
                since=p.since,
                until=p.until,
                until_seq=p.until_seq,
                newest=p.newest,
            )
        )
        last_seq = await ctx.store.last_seq()
        if p.newest:  # the newest ``limit`` (the store gave one older to tell ``more``)
            newest = found[-p.limit :] if p.limit else []
            shown = ctx.fit(newest[::-1])
            kept = newest[len(newest) - shown :]
            more = len(found) > len(kept)
            return EventsResult(events=tuple(kept), last_seq=last_seq, more=more)
        shown = ctx.fit(found[: p.limit])
        return EventsResult(events=tuple(found[:shown]), last_seq=last_seq, more=shown < len(found))

    async def audit_verify(self, caller: Caller, _: Any) -> AuditCheck:
        """The event log against its anchors and MACs (docs/security.md).

        Raises:
            StoreUnavailable: the store cannot read.
        """
        report = await self.ctx.store.verify_audit()
        return AuditCheck(**attrs.asdict(report))
