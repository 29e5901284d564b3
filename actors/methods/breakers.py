"""``breaker.list`` and ``breaker.reset``: the circuit breakers (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.actors.breaker_actors import BreakerView
from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_policy import BreakerInfo, BreakerParams


def breaker_info(v: BreakerView) -> BreakerInfo:
    """A breaker as clients see it."""
    return BreakerInfo(
        key=v.key, status=v.status.value, recent_failures=v.recent_failures, reopens_at=v.reopens_at
    )


@attrs.frozen
class BreakerMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {names.BREAKER_LIST: self.list, names.BREAKER_RESET: self.reset}

    async def list(self, caller: Caller, _: Any) -> tuple[BreakerInfo, ...]:
        """Every breaker with its state."""
        return tuple(breaker_info(v) for v in await self.ctx.tree.breakers.list())

    async def reset(self, caller: Caller, p: BreakerParams) -> BreakerInfo:
        """Close the breaker ``p.key``.

        Raises:
            NotFound: no such breaker.
        """
        return breaker_info(await self.ctx.tree.breakers.reset(p.key))
