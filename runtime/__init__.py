"""gnomon's runtime: the actor kernel, the clock, the store, the gateway and the daemon.

The kernel's public API is re-exported here lazily (PEP 562), so that importing a pure
module such as ``gnomon.runtime.model.job`` or ``gnomon.runtime.errors`` does not import
trio. See ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gnomon.runtime.actor import ActorContext as ActorContext
    from gnomon.runtime.actor import ActorRef as ActorRef
    from gnomon.runtime.actor import Mailbox as Mailbox
    from gnomon.runtime.actor import Reply as Reply
    from gnomon.runtime.actor import Request as Request
    from gnomon.runtime.actor import StopRequested as StopRequested
    from gnomon.runtime.clock import Clock as Clock
    from gnomon.runtime.clock import SystemClock as SystemClock
    from gnomon.runtime.clock import VirtualClock as VirtualClock
    from gnomon.runtime.registry import Registry as Registry
    from gnomon.runtime.restarts import Restart as Restart
    from gnomon.runtime.restarts import RestartBackoff as RestartBackoff
    from gnomon.runtime.restarts import Strategy as Strategy
    from gnomon.runtime.supervisor import Supervisor as Supervisor
    from gnomon.runtime.supervisor_cells import ChildSpec as ChildSpec

_EXPORTS = {
    "ActorContext": "gnomon.runtime.actor",
    "ActorRef": "gnomon.runtime.actor",
    "Mailbox": "gnomon.runtime.actor",
    "Reply": "gnomon.runtime.actor",
    "Request": "gnomon.runtime.actor",
    "StopRequested": "gnomon.runtime.actor",
    "Clock": "gnomon.runtime.clock",
    "SystemClock": "gnomon.runtime.clock",
    "VirtualClock": "gnomon.runtime.clock",
    "Registry": "gnomon.runtime.registry",
    "ChildSpec": "gnomon.runtime.supervisor_cells",
    "Restart": "gnomon.runtime.restarts",
    "RestartBackoff": "gnomon.runtime.restarts",
    "Strategy": "gnomon.runtime.restarts",
    "Supervisor": "gnomon.runtime.supervisor",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gnomon.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
