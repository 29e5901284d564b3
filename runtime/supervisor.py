"""OTP-style supervisors built from trio nurseries and per-child cancel scopes.

Each child runs in a *cell*: a task with its own :class:`trio.CancelScope` that catches
``Exception`` (never ``BaseException``), completes abandoned replies and reports the exit
to the supervisor over a channel. The supervisor's loop serialises everything that
changes its children (exits, ``start_child``, ``terminate_child``, ``stop``), applies the
restart type and strategy, and gives up with one :class:`SupervisorGaveUp` when restarts
exceed ``intensity`` within ``period`` seconds. Semantics: ``docs/supervision.md``.
"""

from __future__ import annotations

import functools
import math
import random
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Any

import attrs
import trio

from gnomon.runtime.actor import (
    ActorContext,
    ActorRef,
    Mailbox,
    Reply,
    StopRequested,
    crash_error,
)
from gnomon.runtime.errors import ActorGone, Conflict, NotFound, SupervisorGaveUp
from gnomon.runtime.registry import Registry

ActorFn = Callable[[ActorContext[Any]], Awaitable[None]]


class Restart(StrEnum):
    """When a child is restarted (OTP restart types)."""

    PERMANENT = "permanent"  # always, whatever the exit
    TRANSIENT = "transient"  # only after a crash
    TEMPORARY = "temporary"  # never


class Strategy(StrEnum):
    """Which children restart when one dies (OTP strategies)."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"
    SIMPLE_ONE_FOR_ONE = "simple_one_for_one"


@attrs.frozen(kw_only=True)
class ChildSpec:
    """How to start and supervise one child.

    Attributes:
        id: unique among the supervisor's children.
        start: the actor coroutine.
        kind: the actor kind (registry key, metric label).
        restart: restart type.
        shutdown: seconds a graceful stop may take before the cell is cancelled.
        mailbox_size: mailbox capacity.
        register: whether to publish the child in the registry as ``kind:id``.
        significant: a crash of this child (for a child supervisor: giving up) makes the
            parent give up at once instead of restarting it (OTP's ``significant``) — for
            a child whose restart would lose state the parent cannot rebuild, like a
            ``simple_one_for_one`` supervisor's dynamic children.
    """

    id: str
    start: ActorFn
    kind: str = "actor"
    restart: Restart = Restart.PERMANENT
    shutdown: float = 5.0
    mailbox_size: int = 64
    register: bool = True
    significant: bool = False


@attrs.frozen
class Normal:
    """The actor returned."""


@attrs.frozen
class Shutdown:
    """The actor stopped because its supervisor asked it to (or cancelled it)."""


@attrs.frozen
class Crashed:
    """The actor raised; ``traceback`` is the formatted exception."""

    error: Exception
    traceback: str


ExitReason = Normal | Shutdown | Crashed


@attrs.frozen
class ChildExited:
    """Observed: a child's incarnation ended."""

    supervisor: str
    child: str
    kind: str
    incarnation: int
    reason: ExitReason


@attrs.frozen
class ChildRestarted:
    """Observed: a child was restarted (after ``delay`` seconds of backoff)."""

    supervisor: str
    child: str
    kind: str
    incarnation: int
    delay: float


@attrs.frozen
class GaveUp:
    """Observed: the supervisor exceeded its restart intensity."""

    supervisor: str
    error: SupervisorGaveUp


SupervisionEvent = ChildExited | ChildRestarted | GaveUp
Observer = Callable[[SupervisionEvent], None]


@attrs.frozen(kw_only=True)
class RestartBackoff:
    """Exponential restart delay with full jitter: ``uniform(0, min(cap, base·2ⁿ))``.

    ``n`` counts the child's restarts inside the intensity window, so a child that stays
    up for one ``period`` starts again from ``base``.
    """

    base: float = 0.1
    cap: float = 30.0
    rng: random.Random = attrs.field(factory=random.Random, eq=False)

    def delay(self, recent_restarts: int) -> float:
        """Delay before the restart that follows ``recent_restarts`` earlier ones."""
        ceiling = min(self.cap, self.base * 2 ** min(recent_restarts, 62))
        return self.rng.uniform(0.0, ceiling)


_RUNNING, _STOPPING, _BACKOFF, _REMOVED = "running", "stopping", "backoff", "removed"


@attrs.define(eq=False)
class _Child:
    spec: ChildSpec
    ref: ActorRef[Any]
    state: str = _RUNNING
    incarnation: int = 0
    scope: trio.CancelScope | None = None
    exited: trio.Event | None = None
    restart_times: deque[float] | None = None
    prepared: bool = False  # scope and exited were made by start_child_soon


@attrs.frozen
class ChildInfo:
    """A snapshot of one child, for introspection (``which_children``)."""

    id: str
    kind: str
    state: str
    incarnation: int
    restart: Restart
    mailbox_depth: int
    dropped: int


@attrs.frozen
class _Exit:
    child_id: str
    incarnation: int
    reason: ExitReason


@attrs.frozen
class _StartChild:
    spec: ChildSpec
    reply: Reply[ActorRef[Any]]


@attrs.frozen
class _TerminateChild:
    child_id: str
    reply: Reply[None]


@attrs.frozen
class _Stop:
    reply: Reply[None]


_Control = _Exit | _StartChild | _TerminateChild | _Stop


class Supervisor:
    """Supervises children per OTP semantics; see the module docstring.

    A ``Supervisor`` object can be run again after it stopped or gave up (that is how
    a parent restarts it); each ``run`` starts from its static ``children``.
    """

    def __init__(
        self,
        name: str,
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        children: Iterable[ChildSpec] = (),
        intensity: int = 3,
        period: float = 5.0,
        backoff: RestartBackoff | None = None,
        observer: Observer | None = None,
        registry: Registry | None = None,
    ) -> None:
        specs = list(children)
        if strategy is Strategy.SIMPLE_ONE_FOR_ONE and specs:
            raise ValueError("a simple_one_for_one supervisor starts with no children")
        if len({s.id for s in specs}) != len(specs):
            raise ValueError(f"duplicate child ids in supervisor {name!r}")
        self.name = name
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self._static = specs
        self._backoff = backoff
        self._observer = observer
        self._registry = registry
        self._children: dict[str, _Child] = {}
        self._restarts: deque[float] = deque()
        self._nursery: trio.Nursery | None = None
        self._running = False
        self._control_send, self._control_recv = trio.open_memory_channel[_Control](math.inf)

    # -- public API ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between the end of the initial start and the end of ``run``."""
        return self._running

    def which_children(self) -> list[ChildInfo]:
        """Every child in start order."""
        return [
            ChildInfo(
                id=c.spec.id,
                kind=c.spec.kind,
                state=c.state,
                incarnation=c.incarnation,
                restart=c.spec.restart,
                mailbox_depth=c.ref.mailbox.depth,
                dropped=c.ref.mailbox.dropped,
            )
            for c in self._children.values()
        ]

    def ref(self, child_id: str) -> ActorRef[Any] | None:
        """The address of a current child, or ``None``."""
        child = self._children.get(child_id)
        return None if child is None else child.ref

    async def start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        """Add and start a child; return once it is ready.

        Raises:
            Conflict: a child with that id exists.
            ActorGone: the supervisor is not running.
            Exception: whatever the child raised before it became ready.
        """
        ref: ActorRef[Any] = await self._call(lambda reply: _StartChild(spec, reply))
        return ref

    def start_child_soon(self, spec: ChildSpec) -> ActorRef[Any]:
        """Add a child and schedule its start; return its address at once.

        For dynamic children started in bulk (job activation): no round trip through the
        supervisor's loop and no wait for readiness, so starting 10k children costs 10k
        cheap calls, not 10k scheduler batches. Messages sent meanwhile wait in the
        mailbox. A crash, even before the child is ready, is an ordinary crash handled by
        its restart type.

        Raises:
            Conflict: a child with that id exists (e.g. one still being removed).
            ActorGone: the supervisor is not running.
        """
        if not self._running or self._nursery is None:
            raise ActorGone(f"supervisor {self.name!r} is not running")
        child = self._new_child(spec)
        child.prepared, child.scope, child.exited = True, trio.CancelScope(), trio.Event()
        self._nursery.start_soon(
            functools.partial(self._cell, child, False, task_status=trio.TASK_STATUS_IGNORED)
        )
        return child.ref

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child gracefully (bounded by its ``shutdown``) and remove it; no restart.

        Raises:
            NotFound: no such child.
        """
        await self._call(lambda reply: _TerminateChild(child_id, reply))

    async def stop(self) -> None:
        """Stop every child in reverse start order, then let ``run`` return normally."""
        if not self._running:
            return
        await self._call(_Stop)

    def as_child(
        self,
        *,
        restart: Restart = Restart.PERMANENT,
        shutdown: float = math.inf,
        significant: bool = False,
    ) -> ChildSpec:
        """A spec that runs this supervisor as a child of another one."""

        async def start(ctx: ActorContext[Any]) -> None:
            await self.run(ctx=ctx)

        return ChildSpec(
            id=self.name,
            kind="supervisor",
            start=start,
            restart=restart,
            shutdown=shutdown,
            mailbox_size=1,
            register=False,
            significant=significant,
        )

    async def run(
        self,
        *,
        task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED,
        ctx: ActorContext[Any] | None = None,
    ) -> None:
        """Start the static children in order, then supervise until stopped.

        Use ``await nursery.start(sup.run)`` to wait for the initial start. When run as a
        child (``ctx``), a graceful stop request from the parent stops this supervisor.

        Raises:
            SupervisorGaveUp: restart intensity exceeded (all children already stopped).
            Exception: a static child failed before it became ready.
        """
        self._reset()
        failure: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                try:
                    await self._start_static(nursery)
                except Exception as exc:
                    failure = exc
                    nursery.cancel_scope.cancel()
                else:
                    self._nursery = nursery
                    self._running = True
                    if ctx is not None:
                        nursery.start_soon(self._stop_when_parent_asks, ctx)
                        ctx.ready()
                    task_status.started(self)
                    failure = await self._supervise()
                    nursery.cancel_scope.cancel()
        finally:
            self._nursery = None
            self._running = False
            self._answer_pending_calls()
            self._close_all()
        if failure is not None:
            if isinstance(failure, SupervisorGaveUp):
                self._notify(GaveUp(self.name, failure))
            raise failure

    # -- control loop ----------------------------------------------------------------

    def _reset(self) -> None:
        self._children = {}
        self._restarts.clear()
        self._control_send, self._control_recv = trio.open_memory_channel[_Control](math.inf)

    async def _start_static(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        try:
            for spec in self._static:
                await self._add(spec)
        finally:
            self._nursery = None

    async def _call(self, make: Callable[[Reply[Any]], _Control]) -> Any:
        reply: Reply[Any] = Reply()
        if not self._running:
            raise ActorGone(f"supervisor {self.name!r} is not running")
        self._control_send.send_nowait(make(reply))
        return await reply.wait()

    async def _stop_when_parent_asks(self, ctx: ActorContext[Any]) -> None:
        await ctx.wait_stop_requested()
        self._control_send.send_nowait(_Stop(Reply()))

    async def _supervise(self) -> SupervisorGaveUp | None:
        async for item in self._control_recv:
            if isinstance(item, _Exit):
                gave_up = await self._on_exit(item)
                if gave_up is not None:
                    await self._stop_all()
                    return gave_up
            elif isinstance(item, _StartChild):
                await self._answer(item.reply, self._add(item.spec))
            elif isinstance(item, _TerminateChild):
                await self._answer(item.reply, self._terminate(item.child_id))
            else:
                await self._stop_all()
                item.reply.send(None)
                return None
        return None  # pragma: no cover - the control channel is never closed

    @staticmethod
    async def _answer(reply: Reply[Any], work: Awaitable[Any]) -> None:
        try:
            result = await work
        except Exception as exc:
            reply.fail(exc)
        else:
            reply.send(result)

    async def _on_exit(self, ex: _Exit) -> SupervisorGaveUp | None:
        child = self._children.get(ex.child_id)
        if child is None or child.incarnation != ex.incarnation or child.state != _RUNNING:
            return None  # stale, or an exit we caused while stopping it
        if child.spec.significant and isinstance(ex.reason, Crashed):
            return SupervisorGaveUp(
                self.name, child.spec.id, self.intensity, self.period, significant=True
            )
        if not self._should_restart(child.spec.restart, ex.reason):
            self._remove(child)
            return None
        now = trio.current_time()
        if self._exceeds_intensity(now):
            return SupervisorGaveUp(self.name, child.spec.id, self.intensity, self.period)
        times = child.restart_times
        if times is None:
            times = child.restart_times = deque()
        times.append(now)
        while times[0] < now - self.period:
            times.popleft()
        if self.strategy in (Strategy.ONE_FOR_ONE, Strategy.SIMPLE_ONE_FOR_ONE):
            self._restart_one(child)
        else:
            order = list(self._children.values())
            group = order if self.strategy is Strategy.ONE_FOR_ALL else order[order.index(child) :]
            await self._restart_group(child, group)
        return None

    @staticmethod
    def _should_restart(restart: Restart, reason: ExitReason) -> bool:
        if restart is Restart.PERMANENT:
            return True
        return restart is Restart.TRANSIENT and isinstance(reason, Crashed)

    def _exceeds_intensity(self, now: float) -> bool:
        self._restarts.append(now)
        while self._restarts and self._restarts[0] < now - self.period:
            self._restarts.popleft()
        return len(self._restarts) > self.intensity

    def _delay_for(self, child: _Child) -> float:
        if self._backoff is None:
            return 0.0
        return self._backoff.delay(len(child.restart_times or ()) - 1)

    def _restart_one(self, child: _Child) -> None:
        assert self._nursery is not None
        child.state = _BACKOFF
        self._nursery.start_soon(self._restart_after, child, self._delay_for(child))

    async def _restart_after(self, child: _Child, delay: float) -> None:
        if delay > 0:
            await trio.sleep(delay)
        if child.state == _BACKOFF and self._nursery is not None:
            await self._nursery.start(self._cell, child, False)
            self._notify(
                ChildRestarted(self.name, child.spec.id, child.spec.kind, child.incarnation, delay)
            )

    async def _restart_group(self, dead: _Child, group: list[_Child]) -> None:
        for child in reversed(group):
            if child is not dead:
                await self._stop_child(child)
        delay = self._delay_for(dead)
        if delay > 0:
            await trio.sleep(delay)
        assert self._nursery is not None
        for child in group:
            if child is not dead and child.spec.restart is Restart.TEMPORARY:
                self._remove(child)
                continue
            await self._nursery.start(self._cell, child, False)
            self._notify(
                ChildRestarted(self.name, child.spec.id, child.spec.kind, child.incarnation, delay)
            )

    # -- children ----------------------------------------------------------------------

    def _new_child(self, spec: ChildSpec) -> _Child:
        if spec.id in self._children:
            raise Conflict(f"supervisor {self.name!r} already has a child {spec.id!r}")
        mailbox: Mailbox[Any] = Mailbox(spec.mailbox_size, f"{spec.kind}:{spec.id}")
        child = _Child(spec=spec, ref=ActorRef(spec.kind, spec.id, mailbox))
        if spec.register and self._registry is not None:
            self._registry.register(child.ref)
        self._children[spec.id] = child
        return child

    async def _add(self, spec: ChildSpec) -> ActorRef[Any]:
        assert self._nursery is not None
        child = self._new_child(spec)
        try:
            await self._nursery.start(self._cell, child, True)
        except BaseException:
            self._remove(child)
            raise
        return child.ref

    async def _terminate(self, child_id: str) -> None:
        child = self._children.get(child_id)
        if child is None:
            raise NotFound(f"supervisor {self.name!r} has no child {child_id!r}")
        await self._stop_child(child)
        self._remove(child)

    async def _stop_child(self, child: _Child) -> None:
        if child.state != _RUNNING:
            child.state = _STOPPING
            return
        child.state = _STOPPING
        exited = child.exited
        assert exited is not None
        assert child.scope is not None
        child.ref.mailbox._request_stop()
        with trio.move_on_after(child.spec.shutdown):
            await exited.wait()
        if not exited.is_set():
            child.scope.cancel()
            await exited.wait()

    async def _stop_all(self) -> None:
        children = list(self._children.values())
        if self.strategy is Strategy.SIMPLE_ONE_FOR_ONE:
            async with trio.open_nursery() as nursery:
                for child in children:
                    nursery.start_soon(self._stop_child, child)
        else:
            for child in reversed(children):
                await self._stop_child(child)
        for child in children:
            self._remove(child)

    def _remove(self, child: _Child) -> None:
        child.state = _REMOVED
        if self._children.get(child.spec.id) is child:
            del self._children[child.spec.id]
        if child.spec.register and self._registry is not None:
            self._registry.unregister(child.ref)
        child.ref.mailbox._close()

    def _answer_pending_calls(self) -> None:
        gone = ActorGone(f"supervisor {self.name!r} is not running")
        while True:
            try:
                item = self._control_recv.receive_nowait()
            except trio.WouldBlock:
                return
            if isinstance(item, _Stop):
                item.reply.send(None)
            elif not isinstance(item, _Exit):
                item.reply._abandon(gone)

    def _close_all(self) -> None:
        for child in list(self._children.values()):
            self._remove(child)

    async def _cell(
        self, child: _Child, initial: bool, *, task_status: trio.TaskStatus[None]
    ) -> None:
        child.incarnation += 1
        incarnation = child.incarnation
        started = False

        def ready() -> None:
            nonlocal started
            if not started:
                started = True
                task_status.started()

        mailbox = child.ref.mailbox
        reason: ExitReason = Normal()
        if child.prepared:  # made by start_child_soon, maybe already asked to stop
            child.prepared = False
            assert child.exited is not None
            assert child.scope is not None
            exited, scope = child.exited, child.scope
            if child.state != _RUNNING:
                self._exit(child, incarnation, Shutdown(), exited)
                return
        else:
            exited = child.exited = trio.Event()
            scope = child.scope = trio.CancelScope()
            child.state = _RUNNING
        mailbox._begin_incarnation(ready)
        try:
            with scope:
                try:
                    await child.spec.start(ActorContext(child.ref, incarnation))
                except StopRequested:
                    reason = Shutdown()
                except Exception as exc:
                    if initial and not started:
                        mailbox._end_incarnation(crash_error(child.ref.path, exc))
                        raise
                    reason = Crashed(exc, "".join(traceback.format_exception(exc)))
            if scope.cancelled_caught:
                reason = Shutdown()
        finally:
            mailbox._end_incarnation(_abandon_error(child.ref.path, reason))
            exited.set()
        ready()
        self._exit(child, incarnation, reason, exited)

    def _exit(
        self, child: _Child, incarnation: int, reason: ExitReason, exited: trio.Event
    ) -> None:
        exited.set()
        self._notify(ChildExited(self.name, child.spec.id, child.spec.kind, incarnation, reason))
        self._control_send.send_nowait(_Exit(child.spec.id, incarnation, reason))

    def _notify(self, event: SupervisionEvent) -> None:
        if self._observer is not None:
            self._observer(event)


def _abandon_error(path: str, reason: ExitReason) -> Exception:
    if isinstance(reason, Crashed):
        return crash_error(path, reason.error)
    return ActorGone(f"actor {path} stopped before answering")
