"""Exclusion calendars (``calendar.add|list|remove``) and ``job.backfill`` as a family: the
handlers of actors/schedule_methods.py over the engine's exclusion book."""

from __future__ import annotations

from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.actors.schedule_methods import ScheduleMethods


class ScheduleFamily:
    """See the module docstring."""

    def __init__(self, ctx: MethodContext) -> None:
        self.methods = ScheduleMethods(ctx.tree, ctx.store, ctx.tree.ports.exclusions)

    def handlers(self) -> dict[str, Handler]:
        return self.methods.handlers()
