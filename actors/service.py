"""The protocol's methods, implemented over the engine: what the gateway calls.

A thin facade over one module per family in ``actors/methods/`` (jobs, job control,
events, breakers, policy, config, inbox, tokens and agents, system, fire stats and
cluster members, calendars and backfill): :meth:`handlers` is
their union, keyed by the names of ``runtime/protocol_names.py``. ``system.hello``,
``system.login_url``, ``system.session`` and the ``events.subscribe`` streams are the
gateway's own (runtime/gateway/).
"""

from __future__ import annotations

import attrs

from gnomon.actors.methods.breakers import BreakerMethods
from gnomon.actors.methods.config import ConfigMethods
from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.actors.methods.events import EventMethods
from gnomon.actors.methods.inbox import InboxMethods
from gnomon.actors.methods.jobs import JobMethods
from gnomon.actors.methods.jobs_control import JobControlMethods
from gnomon.actors.methods.policy import PolicyMethods
from gnomon.actors.methods.schedules import ScheduleFamily
from gnomon.actors.methods.stats import StatsMethods
from gnomon.actors.methods.system import SystemMethods
from gnomon.actors.methods.tokens import TokenMethods
from gnomon.runtime.protocol_system import Health

FAMILIES = (
    SystemMethods,
    JobMethods,
    JobControlMethods,
    EventMethods,
    BreakerMethods,
    PolicyMethods,
    ConfigMethods,
    InboxMethods,
    TokenMethods,
    StatsMethods,
    ScheduleFamily,
)


@attrs.define
class Service:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        """Method name → handler, for the gateway (every family's).

        Raises:
            ValueError: two families serve the same method (a wiring bug).
        """
        table: dict[str, Handler] = {}
        for family in FAMILIES:
            for name, handler in family(self.ctx).handlers().items():
                if name in table:
                    raise ValueError(f"method {name} is served by two families")
                table[name] = handler
        return table

    async def health(self) -> Health:
        """``system.health`` for ``/healthz`` (see methods/system.py)."""
        return await SystemMethods(self.ctx).health(None, None)

    async def job_counts(self) -> dict[str, int]:
        """Jobs per status as stored (see methods/system.py)."""
        return await SystemMethods(self.ctx).job_counts()
