"""A supervisor's control inbox: the one queue its loop reads (docs/supervision.md).

Cells report exits into it and callers' requests (``start_child``, ``terminate_child``,
``stop``) wait in it for an answer, so that everything that changes the children happens
in order, in the supervisor's own loop.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import trio

from gnomon.runtime.actor import ActorContext, ActorRef, Reply
from gnomon.runtime.errors import ActorGone
from gnomon.runtime.restarts import ExitReason
from gnomon.runtime.supervisor_cells import ChildSpec


@attrs.frozen
class Exit:
    child_id: str
    incarnation: int
    reason: ExitReason


@attrs.frozen
class StartChild:
    spec: ChildSpec
    reply: Reply[ActorRef[Any]]


@attrs.frozen
class TerminateChild:
    child_id: str
    reply: Reply[None]


@attrs.frozen
class Stop:
    reply: Reply[None]


ControlItem = Exit | StartChild | TerminateChild | Stop


class Control:
    """The unbounded queue of :data:`ControlItem` of one supervisor run."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[ControlItem](math.inf)

    def __aiter__(self) -> AsyncIterator[ControlItem]:
        return self._receive.__aiter__()

    def put(self, item: ControlItem) -> None:
        """Queue ``item`` (never blocks)."""
        self._send.send_nowait(item)

    async def call(self, make: Callable[[Reply[Any]], ControlItem]) -> Any:
        """Queue the request ``make(reply)`` and wait for its answer (or its error)."""
        reply: Reply[Any] = Reply()
        self._send.send_nowait(make(reply))
        return await reply.wait()

    async def stop_when_asked(self, ctx: ActorContext[Any]) -> None:
        """Queue a :class:`Stop` once the parent asks the supervisor (its child) to stop."""
        await ctx.wait_stop_requested()
        self.put(Stop(Reply()))

    def drain(self, owner: str) -> None:
        """Answer what is still queued once the loop ended: a stop is done, any other
        request fails with :class:`ActorGone`, exits are dropped."""
        gone = ActorGone(f"supervisor {owner!r} is not running")
        while True:
            try:
                item = self._receive.receive_nowait()
            except trio.WouldBlock:
                return
            if isinstance(item, Stop):
                item.reply.send(None)
            elif not isinstance(item, Exit):
                item.reply._abandon(gone)


async def answer(reply: Reply[Any], work: Awaitable[Any]) -> None:
    """Send ``reply`` the result of ``work``, or fail it with the exception it raised."""
    try:
        result = await work
    except Exception as exc:
        reply.fail(exc)
    else:
        reply.send(result)
