"""gnomon's runtime: the actor kernel, the clock, the store, the gateway and the daemon.

The kernel's public API is re-exported here; see ``docs/architecture.md``.
"""

from __future__ import annotations

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
from gnomon.runtime.supervisor import ChildSpec as ChildSpec
from gnomon.runtime.supervisor import Restart as Restart
from gnomon.runtime.supervisor import RestartBackoff as RestartBackoff
from gnomon.runtime.supervisor import Strategy as Strategy
from gnomon.runtime.supervisor import Supervisor as Supervisor

__all__ = [
    "ActorContext",
    "ActorRef",
    "ChildSpec",
    "Clock",
    "Mailbox",
    "Registry",
    "Reply",
    "Request",
    "Restart",
    "RestartBackoff",
    "StopRequested",
    "Strategy",
    "Supervisor",
    "SystemClock",
    "VirtualClock",
]
