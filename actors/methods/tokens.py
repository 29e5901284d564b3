"""``token.*`` and ``agents.*``: tokens and the agents kill switch (docs/agents.md).

The book and the switch are actors/agents.py's :class:`~gnomon.actors.agents.Agents`;
these are their protocol methods. Without ``ctx.agents`` the family serves nothing.
"""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.actors.agents import Agents
from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol_access import (
    AgentsParams,
    AgentsState,
    Caller,
    TokenCreated,
    TokenCreateParams,
    TokenInfo,
    TokenRevokeParams,
)


@attrs.frozen
class TokenMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        if self.ctx.agents is None:
            return {}
        return {
            names.TOKEN_CREATE: self.create,
            names.TOKEN_LIST: self.list,
            names.TOKEN_REVOKE: self.revoke,
            names.AGENTS_STATUS: self.agents_status,
            names.AGENTS_SET: self.agents_set,
        }

    @property
    def _agents(self) -> Agents:
        assert self.ctx.agents is not None  # handlers() serves nothing without them
        return self.ctx.agents

    async def create(self, caller: Caller, p: TokenCreateParams) -> TokenCreated:
        """A new token; its secret is shown this once.

        Raises:
            InvalidInput: a bad name, scope or limit.
            Conflict: the name is taken.
        """
        return await self._agents.book.create(p, self._agents.now())

    async def list(self, caller: Caller, _: Any) -> tuple[TokenInfo, ...]:
        """Every token, without secrets."""
        return self._agents.book.listing()

    async def revoke(self, caller: Caller, p: TokenRevokeParams) -> tuple[TokenInfo, ...]:
        """Revoke tokens; ``all_agents`` pauses every agent's jobs too (the kill switch's
        other form).

        Raises:
            NotFound: a reference names no token.
        """
        agents = self._agents
        revoked = await agents.book.revoke(p, agents.now())
        if p.all_agents:
            await agents.switch.pause_all(everywhere=self.ctx.command)
        return revoked

    async def agents_status(self, caller: Caller, _: Any) -> AgentsState:
        """The kill switch and how many agent jobs are live."""
        switch = self._agents.switch
        return AgentsState(enabled=switch.enabled, agent_jobs=switch.agent_jobs())

    async def agents_set(self, caller: Caller, p: AgentsParams) -> AgentsState:
        """Switch agents off (pause their jobs, refuse their calls) or on (resume them)."""
        switch = self._agents.switch
        changed = await switch.set(p.enabled)
        return AgentsState(enabled=switch.enabled, changed=changed, agent_jobs=switch.agent_jobs())
