"""Circuit-breaker actors: one per target key, started on first use.

Job actors and wait-pollers ask :class:`Breakers` for a permit before touching a target
and report how the call went; each key's :func:`breaker_actor` owns the pure state of
:mod:`gnomon.actors.core.breaker.machine` and emits ``breaker.opened|half_open|closed`` events on
every change. A breaker that has been closed and unused for ``idle_after`` seconds exits
(and is forgotten); the next use starts a fresh, closed one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import trio

from gnomon.actors.core.breaker import machine as core
from gnomon.actors.core.breaker.machine import BreakerConfig, BreakerStatus
from gnomon.runtime.actor import ActorContext, ActorRef, Request
from gnomon.runtime.clock import Clock
from gnomon.runtime.errors import ActorGone, Conflict, NotFound
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.registry import Registry
from gnomon.runtime.restarts import Restart
from gnomon.runtime.supervisor import Supervisor
from gnomon.runtime.supervisor_cells import ChildSpec

KIND = "breaker"
Emit = Callable[[Sequence[EventDraft]], Awaitable[Any]]

_EVENT_OF = {
    BreakerStatus.OPEN: EventType.BREAKER_OPENED,
    BreakerStatus.HALF_OPEN: EventType.BREAKER_HALF_OPEN,
    BreakerStatus.CLOSED: EventType.BREAKER_CLOSED,
}


@attrs.frozen(kw_only=True)
class BreakerView:
    """What ``gnomon breakers`` shows of one breaker."""

    key: str
    status: BreakerStatus
    recent_failures: int
    reopens_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Permission:
    """A permit answer in wall time: go ahead (a ``probe`` must report), or wait."""

    allowed: bool
    probe: bool = False
    retry_at: datetime | None = None


@attrs.frozen(kw_only=True)
class _Permit(Request[Permission]):
    pass


@attrs.frozen(kw_only=True)
class _Report:
    failure: bool
    probe: bool


@attrs.frozen(kw_only=True)
class _Release:
    pass


@attrs.frozen(kw_only=True)
class _Inspect(Request[BreakerView]):
    pass


@attrs.frozen(kw_only=True)
class _Reset(Request[BreakerView]):
    pass


_Msg = _Permit | _Report | _Release | _Inspect | _Reset


Publish = Callable[[str, BreakerStatus | None, datetime | None], None]


@attrs.define
class _BreakerShell:
    key: str
    config: BreakerConfig
    emit: Emit
    clock: Clock
    publish: Publish
    state: core.Breaker = attrs.field(factory=core.Breaker)

    def wall(self, t: float | None) -> datetime | None:
        if t is None:
            return None
        return self.clock.now() + timedelta(seconds=t - trio.current_time())

    def view(self) -> BreakerView:
        return BreakerView(
            key=self.key,
            status=self.state.status,
            recent_failures=len(self.state.failures),
            reopens_at=self.wall(self.state.reopens_at(self.config)),
        )

    def handle(self, msg: _Msg, now: float) -> None:
        if isinstance(msg, _Permit):
            self.state, decision = core.permit(self.state, self.config, now)
            msg.reply.send(
                Permission(
                    allowed=decision.allowed,
                    probe=decision.probe,
                    retry_at=self.wall(decision.retry_at),
                )
            )
        elif isinstance(msg, _Report):
            self.state = core.record(
                self.state, self.config, now, failure=msg.failure, probe=msg.probe
            )
        elif isinstance(msg, _Release):
            self.state = core.release(self.state, now)
        elif isinstance(msg, _Reset):
            self.state = core.reset()
            msg.reply.send(self.view())
        else:
            msg.reply.send(self.view())

    def idle_deadline(self, now: float, idle_after: float) -> float:
        """When a closed breaker may exit: ``idle_after`` after its last failure left the
        window (never while open or half-open)."""
        if self.state.status is not BreakerStatus.CLOSED:
            return math.inf
        last = max(self.state.failures, default=None)
        quiet_from = now if last is None else max(now, last + self.config.window)
        return quiet_from + idle_after

    async def announce(self, before: BreakerStatus) -> None:
        after = self.state.status
        if after is before:
            return
        reopens = self.wall(self.state.reopens_at(self.config))
        self.publish(self.key, after, reopens)
        message = f"breaker {self.key} {before.value} → {after.value}"
        if reopens is not None:
            message += f" until {reopens.isoformat()}"
        await self.emit(
            [
                EventDraft(
                    type=_EVENT_OF[after],
                    timestamp=self.clock.now(),
                    message=message,
                    payload={"key": self.key, "from": before.value, "to": after.value},
                )
            ]
        )


def breaker_actor(
    key: str, config: BreakerConfig, emit: Emit, clock: Clock, idle_after: float, publish: Publish
) -> Callable[[ActorContext[_Msg]], Awaitable[None]]:
    """The actor of one breaker key. Returns normally after ``idle_after`` idle seconds.

    It publishes every status change (and ``None`` when it exits), which lets
    :meth:`Breakers.permit` answer for closed breakers without a round trip.
    """

    async def actor(ctx: ActorContext[_Msg]) -> None:
        shell = _BreakerShell(key, config, emit, clock, publish)
        try:
            deadline = shell.idle_deadline(trio.current_time(), idle_after)
            while True:
                msg = await ctx.inbox.receive_until(deadline)
                if msg is None:
                    return
                before = shell.state.status
                shell.handle(msg, trio.current_time())
                await shell.announce(before)
                deadline = shell.idle_deadline(trio.current_time(), idle_after)
        finally:
            publish(key, None, None)

    return actor


class Breakers:
    """The breakers of one daemon: get-or-start by key, permit, report, list, reset."""

    def __init__(
        self,
        *,
        supervisor: Supervisor,
        registry: Registry,
        emit: Emit,
        clock: Clock,
        config: BreakerConfig | None = None,
        idle_after: float = 600.0,
    ) -> None:
        self._supervisor = supervisor
        self._registry = registry
        self._emit = emit
        self._clock = clock
        self.config = config or BreakerConfig()
        self._idle_after = idle_after
        self._status: dict[str, BreakerStatus] = {}
        self._reopens: dict[str, datetime | None] = {}

    def _publish(self, key: str, status: BreakerStatus | None, reopens: datetime | None) -> None:
        if status is None or status is BreakerStatus.CLOSED:
            self._status.pop(key, None)
            self._reopens.pop(key, None)
        else:
            self._status[key] = status
            self._reopens[key] = reopens

    def reopen_times(self) -> dict[str, datetime | None]:
        """Every breaker that is not closed, with when it next admits a probe (``None``
        while half-open)."""
        return dict(self._reopens)

    def status(self, key: str) -> BreakerStatus:
        """The breaker's status as last published (closed when it has no actor)."""
        return self._status.get(key, BreakerStatus.CLOSED)

    def open_until(self) -> dict[str, BreakerStatus]:
        """Every breaker that is not closed."""
        return dict(self._status)

    def _ensure(self, key: str) -> ActorRef[_Msg]:
        ref = self._registry.lookup(KIND, key)
        if ref is not None and not ref.mailbox.closed:
            return ref
        spec = ChildSpec(
            id=key,
            kind=KIND,
            start=breaker_actor(
                key, self.config, self._emit, self._clock, self._idle_after, self._publish
            ),
            restart=Restart.TRANSIENT,
            mailbox_size=256,
        )
        return self._supervisor.start_child_soon(spec)

    async def _ref(self, key: str) -> ActorRef[_Msg]:
        for _ in range(100):
            try:
                return self._ensure(key)
            except Conflict:  # the idle incarnation is still being removed
                await trio.lowlevel.checkpoint()
        raise ActorGone(f"breaker {key} could not be started")

    async def _ask(self, key: str, make: Callable[[], Request[Any]]) -> Any:
        for _ in range(3):  # an idle breaker may exit between lookup and send
            ref = await self._ref(key)
            try:
                return await ref.ask(make())
            except ActorGone:
                await trio.lowlevel.checkpoint()
        raise ActorGone(f"breaker {key} kept stopping")

    async def permit(self, key: str) -> Permission:
        """May a call to ``key``'s target go ahead now? A closed breaker answers at once."""
        if self.status(key) is BreakerStatus.CLOSED:
            await trio.lowlevel.checkpoint()
            return Permission(allowed=True)
        result: Permission = await self._ask(key, _Permit)
        return result

    def report(self, key: str, *, failure: bool, probe: bool) -> None:
        """Report an admitted call's result (never blocks; a full mailbox drops it).

        A failure starts the key's actor if it has none; successes of a breaker without
        an actor need no bookkeeping.
        """
        if failure and self._registry.lookup(KIND, key) is None:
            with contextlib.suppress(Conflict, ActorGone):
                self._ensure(key)
        self._tell(key, _Report(failure=failure, probe=probe))

    def release(self, key: str) -> None:
        """Give back a probe permit whose call never reached the target."""
        self._tell(key, _Release())

    def _tell(self, key: str, msg: _Msg) -> None:
        ref = self._registry.lookup(KIND, key)
        if ref is not None:
            with contextlib.suppress(ActorGone):
                ref.try_tell(msg)

    async def list(self) -> list[BreakerView]:
        """Every breaker that has state, sorted by key."""
        views = []
        for ref in self._registry.of_kind(KIND):
            try:
                views.append(await ref.ask(_Inspect()))
            except ActorGone:
                continue
        return sorted(views, key=lambda v: v.key)

    async def reset(self, key: str) -> BreakerView:
        """Close ``key``'s breaker and forget its failures.

        Raises:
            NotFound: no breaker has state under that key.
        """
        if self._registry.lookup(KIND, key) is None:
            raise NotFound(f"no breaker {key!r}", hint="gnomon breakers list shows the keys")
        view: BreakerView = await self._ask(key, _Reset)
        return view
