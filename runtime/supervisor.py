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
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import trio

from gnomon.runtime.actor import ActorContext, ActorRef, Reply
from gnomon.runtime.errors import ActorGone, SupervisorGaveUp
from gnomon.runtime.registry import Registry
from gnomon.runtime.restarts import (
    ExitReason,
    RestartWindow,
    Verdict,
    judge_exit,
    restart_delay,
    restarted_with,
)

# Restart, Strategy, RestartBackoff (runtime/restarts.py) and ChildSpec (runtime/
# supervisor_cells.py) are re-exported for the modules that build trees (actors/tree.py,
# actors/directory.py, actors/job/, the store's writer), which other
# branches are rewriting at the moment; once they import them from there, these four go.
from gnomon.runtime.restarts import Restart as Restart
from gnomon.runtime.restarts import RestartBackoff as RestartBackoff
from gnomon.runtime.restarts import Strategy as Strategy
from gnomon.runtime.supervisor_cells import (
    BACKOFF,
    CELL_TASK_NAME,
    RUNNING,
    Child,
    ChildInfo,
    Children,
    run_cell,
    stop_child,
)
from gnomon.runtime.supervisor_cells import ChildSpec as ChildSpec
from gnomon.runtime.supervisor_control import (
    Control,
    ControlItem,
    Exit,
    StartChild,
    Stop,
    TerminateChild,
    answer,
)


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
        self._children = Children(name, registry, period)
        self._restarts = RestartWindow(period)
        self._nursery: trio.Nursery | None = None
        self._running = False
        self._control = Control()

    # -- public API ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between the end of the initial start and the end of ``run``."""
        return self._running

    def which_children(self) -> list[ChildInfo]:
        """Every child in start order."""
        return self._children.infos()

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
        ref: ActorRef[Any] = await self._call(lambda reply: StartChild(spec, reply))
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
        child = self._children.add(spec)
        child.prepared, child.scope = True, trio.CancelScope()
        self._nursery.start_soon(
            functools.partial(
                run_cell, child, False, self._exit, task_status=trio.TASK_STATUS_IGNORED
            ),
            name=CELL_TASK_NAME,
        )
        return child.ref

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child gracefully (bounded by its ``shutdown``) and remove it; no restart.

        Raises:
            NotFound: no such child.
        """
        await self._call(lambda reply: TerminateChild(child_id, reply))

    async def stop(self) -> None:
        """Stop every child in reverse start order, then let ``run`` return normally."""
        if not self._running:
            return
        await self._call(Stop)

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
                        nursery.start_soon(self._control.stop_when_asked, ctx)
                        ctx.ready()
                    task_status.started(self)
                    failure = await self._supervise()
                    nursery.cancel_scope.cancel()
        finally:
            self._nursery = None
            self._running = False
            self._control.drain(self.name)
            self._children.remove_all()
        if failure is not None:
            if isinstance(failure, SupervisorGaveUp):
                self._notify(GaveUp(self.name, failure))
            raise failure

    # -- control loop ----------------------------------------------------------------

    def _reset(self) -> None:
        self._children = Children(self.name, self._registry, self.period)
        self._restarts.clear()
        self._control = Control()

    async def _start_static(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        try:
            for spec in self._static:
                await self._add(spec)
        finally:
            self._nursery = None

    async def _call(self, make: Callable[[Reply[Any]], ControlItem]) -> Any:
        if not self._running:
            raise ActorGone(f"supervisor {self.name!r} is not running")
        return await self._control.call(make)

    async def _supervise(self) -> SupervisorGaveUp | None:
        async for item in self._control:
            if isinstance(item, Exit):
                gave_up = await self._on_exit(item)
                if gave_up is not None:
                    await self._stop_all()
                    return gave_up
            elif isinstance(item, StartChild):
                await answer(item.reply, self._add(item.spec))
            elif isinstance(item, TerminateChild):
                await answer(item.reply, self._children.terminate(item.child_id))
            else:
                await self._stop_all()
                item.reply.send(None)
                return None
        return None  # pragma: no cover - the control channel is never closed

    async def _on_exit(self, ex: Exit) -> SupervisorGaveUp | None:
        child = self._children.get(ex.child_id)
        if child is None or child.incarnation != ex.incarnation or child.state != RUNNING:
            return None  # stale, or an exit we caused while stopping it
        now = trio.current_time()
        verdict = judge_exit(
            restart=child.spec.restart,
            significant=child.spec.significant,
            reason=ex.reason,
            intensity=self.intensity,
            window=self._restarts,
            now=now,
        )
        if verdict is Verdict.REMOVE:
            self._children.remove(child)
            return None
        if verdict is not Verdict.RESTART:
            significant = verdict is Verdict.GIVE_UP_SIGNIFICANT
            return SupervisorGaveUp(
                self.name, child.spec.id, self.intensity, self.period, significant=significant
            )
        self._children.count_restart(child, now)
        group = restarted_with(self.strategy, self._children.in_order(), child)
        if group is None:
            self._restart_one(child)
        else:
            await self._restart_group(child, group)
        return None

    def _restart_one(self, child: Child) -> None:
        assert self._nursery is not None
        child.state = BACKOFF
        self._nursery.start_soon(
            self._restart_after, child, restart_delay(self._backoff, child.restarts)
        )

    async def _restart_after(self, child: Child, delay: float) -> None:
        if delay > 0:
            await trio.sleep(delay)
        if child.state == BACKOFF and self._nursery is not None:
            await self._start_again(child, delay)

    async def _restart_group(self, dead: Child, group: list[Child]) -> None:
        for child in reversed(group):
            if child is not dead:
                await stop_child(child)
        delay = restart_delay(self._backoff, dead.restarts)
        if delay > 0:
            await trio.sleep(delay)
        for child in group:
            if child is not dead and child.spec.restart is Restart.TEMPORARY:
                self._children.remove(child)
                continue
            await self._start_again(child, delay)

    async def _start_again(self, child: Child, delay: float) -> None:
        assert self._nursery is not None
        await self._nursery.start(run_cell, child, False, self._exit, name=CELL_TASK_NAME)
        self._notify(
            ChildRestarted(self.name, child.spec.id, child.spec.kind, child.incarnation, delay)
        )

    # -- children ----------------------------------------------------------------------

    async def _add(self, spec: ChildSpec) -> ActorRef[Any]:
        assert self._nursery is not None
        child = self._children.add(spec)
        try:
            await self._nursery.start(run_cell, child, True, self._exit, name=CELL_TASK_NAME)
        except BaseException:
            self._children.remove(child)
            raise
        return child.ref

    async def _stop_all(self) -> None:
        await self._children.stop_all(concurrently=self.strategy is Strategy.SIMPLE_ONE_FOR_ONE)

    def _exit(self, child: Child, incarnation: int, reason: ExitReason) -> None:
        self._notify(ChildExited(self.name, child.spec.id, child.spec.kind, incarnation, reason))
        self._control.put(Exit(child.spec.id, incarnation, reason))

    def _notify(self, event: SupervisionEvent) -> None:
        if self._observer is not None:
            self._observer(event)
