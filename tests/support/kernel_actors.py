"""Small actors used by the kernel tests; each appends what it does to a shared log."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from gnomon.runtime import ActorContext, ChildSpec, Request, Restart
from gnomon.runtime.supervisor_cells import ActorFn


@attrs.frozen(kw_only=True)
class Ping(Request[str]):
    """Answered with ``<actor>:<text>``."""

    text: str


@attrs.frozen
class Boom:
    """Told: the actor raises."""


@attrs.frozen(kw_only=True)
class BoomAsk(Request[str]):
    """Asked: the actor raises while holding the request."""


@attrs.frozen(kw_only=True)
class Hold(Request[str]):
    """Asked: the actor keeps the request unanswered and goes on."""


@attrs.frozen
class Quit:
    """Told: the actor returns normally."""


Msg = Ping | Boom | BoomAsk | Hold | Quit


def echo(name: str, log: list[str]) -> ActorFn:
    """An actor that answers pings, crashes on request and logs start/stop."""

    async def actor(ctx: ActorContext[Any]) -> None:
        log.append(f"start {name}")
        try:
            async for msg in ctx.inbox:
                if isinstance(msg, Ping):
                    msg.reply.send(f"{name}:{msg.text}")
                elif isinstance(msg, Boom | BoomAsk):
                    raise RuntimeError(f"boom in {name}")
                elif isinstance(msg, Quit):
                    return
        finally:
            log.append(f"stop {name}")

    return actor


def stubborn(name: str, log: list[str]) -> ActorFn:
    """An actor that never reads its mailbox, so a graceful stop cannot reach it."""

    async def actor(ctx: ActorContext[Any]) -> None:
        log.append(f"start {name}")
        ctx.ready()
        try:
            await trio.sleep_forever()
        finally:
            log.append(f"stop {name}")

    return actor


def spec(
    name: str,
    log: list[str],
    restart: Restart = Restart.PERMANENT,
    *,
    mailbox_size: int = 8,
    shutdown: float = 5.0,
) -> ChildSpec:
    """An echo child spec."""
    return ChildSpec(
        id=name,
        kind="echo",
        start=echo(name, log),
        restart=restart,
        mailbox_size=mailbox_size,
        shutdown=shutdown,
    )


def count_tasks() -> int:
    """Tasks alive under the root task (to check nothing leaks)."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(walk(t) for n in task.child_nurseries for t in n.child_tasks)

    return walk(trio.lowlevel.current_root_task())
