"""``inbox.list`` and ``inbox.ack``: results addressed to the caller (docs/agents.md)."""

from __future__ import annotations

import attrs

from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol import Count
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_inbox import AckParams, InboxEntry, InboxParams


@attrs.frozen
class InboxMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {names.INBOX_LIST: self.list, names.INBOX_ACK: self.ack}

    async def list(self, caller: Caller, p: InboxParams) -> tuple[InboxEntry, ...]:
        """The caller's entries, unread first."""
        return tuple(await self.ctx.store.inbox(caller.owner, unread_only=p.unread_only))

    async def ack(self, caller: Caller, p: AckParams) -> Count:
        """Mark the caller's entries ``p.ids`` read; how many changed.

        Raises:
            StoreUnavailable: the store cannot write.
        """
        now = self.ctx.clock.now()
        return Count(count=await self.ctx.store.ack_inbox(caller.owner, p.ids, now))
