"""``config.get``: the effective configuration and where each value came from
(docs/operations.md)."""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_system import ConfigRow


@attrs.frozen
class ConfigMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {names.CONFIG_GET: self.get}

    async def get(self, caller: Caller, _: Any) -> tuple[ConfigRow, ...]:
        """Every key with its shown value (secrets masked), source and doc."""
        return tuple(
            ConfigRow(key=s.key.name, value=s.shown(), source=s.source, doc=s.key.doc)
            for s in self.ctx.config.rows()
        )
