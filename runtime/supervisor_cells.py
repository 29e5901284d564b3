"""A supervisor's children: their spec, their table (start order, registry), their cells,
their stop.

A *cell* runs one incarnation of a child in a task with its own
:class:`trio.CancelScope`: it catches ``Exception`` (never ``BaseException``), turns the
exit into an :data:`~gnomon.runtime.restarts.ExitReason`, completes the requests the
incarnation left unanswered and reports the exit. :class:`~gnomon.runtime.supervisor.
Supervisor` decides what follows (docs/supervision.md).
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from gnomon.runtime.actor import ActorContext, ActorRef, Mailbox, StopRequested, crash_error
from gnomon.runtime.errors import ActorGone, Conflict, NotFound
from gnomon.runtime.registry import Registry
from gnomon.runtime.restarts import Crashed, ExitReason, Normal, Restart, RestartWindow, Shutdown

RUNNING, STOPPING, BACKOFF, REMOVED = "running", "stopping", "backoff", "removed"
ActorFn = Callable[[ActorContext[Any]], Awaitable[None]]
#: The name of every cell's task (one shared string: trio would format one per task).
CELL_TASK_NAME = "gnomon.runtime.supervisor_cells.run_cell"


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


#: Called when an incarnation ended: the child, the incarnation, why it ended.
OnExit = Callable[["Child", int, ExitReason], None]


@attrs.define(eq=False)
class Child:
    """One child across its incarnations (its mailbox outlives each of them)."""

    spec: ChildSpec
    ref: ActorRef[Any]
    state: str = RUNNING
    incarnation: int = 0
    scope: trio.CancelScope | None = None
    ended: bool = False  # the current incarnation's cell has finished
    exited: trio.Event | None = None  # made only when someone waits for that end
    prepared: bool = False  # scope was made by start_child_soon
    restarts: RestartWindow | None = None  # made at its first restart (most never do)


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


class Children:
    """The children of supervisor ``owner`` in start order, published in ``registry``
    (those whose spec says ``register``) while they exist; each child's restarts are
    counted over the last ``period`` seconds."""

    def __init__(self, owner: str, registry: Registry | None, period: float) -> None:
        self._owner = owner
        self._registry = registry
        self._period = period
        self._by_id: dict[str, Child] = {}

    def get(self, child_id: str) -> Child | None:
        return self._by_id.get(child_id)

    def in_order(self) -> list[Child]:
        return list(self._by_id.values())

    def infos(self) -> list[ChildInfo]:
        """A snapshot of every child in start order."""
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
            for c in self._by_id.values()
        ]

    def add(self, spec: ChildSpec) -> Child:
        """A new child (not started).

        Raises:
            Conflict: a child with that id exists.
        """
        if spec.id in self._by_id:
            raise Conflict(f"supervisor {self._owner!r} already has a child {spec.id!r}")
        mailbox: Mailbox[Any] = Mailbox(spec.mailbox_size, f"{spec.kind}:{spec.id}")
        child = Child(spec=spec, ref=ActorRef(spec.kind, spec.id, mailbox))
        if spec.register and self._registry is not None:
            self._registry.register(child.ref)
        self._by_id[spec.id] = child
        return child

    def count_restart(self, child: Child, now: float) -> None:
        """Count a restart of ``child`` at ``now`` in its own window (for its backoff)."""
        if child.restarts is None:
            child.restarts = RestartWindow(self._period)
        child.restarts.record(now)

    def remove(self, child: Child) -> None:
        """Forget ``child``: unregister it and close its mailbox."""
        child.state = REMOVED
        if self._by_id.get(child.spec.id) is child:
            del self._by_id[child.spec.id]
        if child.spec.register and self._registry is not None:
            self._registry.unregister(child.ref)
        child.ref.mailbox._close()

    async def terminate(self, child_id: str) -> None:
        """Stop child ``child_id`` (see :func:`stop_child`) and forget it.

        Raises:
            NotFound: no such child.
        """
        child = self._by_id.get(child_id)
        if child is None:
            raise NotFound(f"supervisor {self._owner!r} has no child {child_id!r}")
        await stop_child(child)
        self.remove(child)

    def remove_all(self) -> None:
        for child in list(self._by_id.values()):
            self.remove(child)

    async def stop_all(self, *, concurrently: bool) -> None:
        """Stop every child — at once, or one by one in reverse start order — and forget
        them all."""
        children = list(self._by_id.values())
        if concurrently:
            async with trio.open_nursery() as nursery:
                for child in children:
                    nursery.start_soon(stop_child, child)
        else:
            for child in reversed(children):
                await stop_child(child)
        for child in children:
            self.remove(child)


async def stop_child(child: Child) -> None:
    """Ask a running child to stop, and cancel it after its ``shutdown`` seconds; a child
    that is not running (backing off, not yet started) is only marked stopping, so that
    it does not start again."""
    if child.state != RUNNING:
        child.state = STOPPING
        return
    child.state = STOPPING
    assert child.scope is not None
    child.ref.mailbox._request_stop()
    if child.ended:  # its exit is on the way to the supervisor
        await trio.lowlevel.checkpoint()
        return
    if child.exited is None:
        child.exited = trio.Event()
    exited = child.exited
    with trio.move_on_after(child.spec.shutdown):
        await exited.wait()
    if not exited.is_set():
        child.scope.cancel()
        await exited.wait()


def _mark_ended(child: Child) -> None:
    """The current incarnation's cell has finished: wake whoever waits for that."""
    child.ended = True
    exited, child.exited = child.exited, None
    if exited is not None:
        exited.set()


async def run_cell(
    child: Child, initial: bool, on_exit: OnExit, *, task_status: trio.TaskStatus[None]
) -> None:
    """Run one incarnation of ``child``; ``task_status.started()`` once it is ready (or
    has ended). Its exit goes to ``on_exit``, except an ``initial`` start that fails
    before the child is ready: that exception propagates (the caller's ``start`` fails).
    Cancelled by the child's own scope (a stop): reported as :class:`Shutdown`."""
    child.incarnation += 1
    incarnation = child.incarnation
    ready = _Ready(task_status)
    mailbox = child.ref.mailbox
    reason: ExitReason = Normal()
    if child.prepared:  # made by start_child_soon, maybe already asked to stop
        child.prepared = False
        assert child.scope is not None
        scope = child.scope
        if child.state != RUNNING:
            _mark_ended(child)
            on_exit(child, incarnation, Shutdown())
            return
    else:
        child.ended, child.exited = False, None
        scope = child.scope = trio.CancelScope()
        child.state = RUNNING
    mailbox._begin_incarnation(ready)
    try:
        with scope:
            try:
                await child.spec.start(ActorContext(child.ref, incarnation))
            except StopRequested:
                reason = Shutdown()
            except Exception as exc:
                if initial and not ready.started:
                    mailbox._end_incarnation(crash_error(child.ref.path, exc))
                    raise
                reason = Crashed(exc, "".join(traceback.format_exception(exc)))
        if scope.cancelled_caught:
            reason = Shutdown()
    finally:
        mailbox._end_incarnation(_abandon_error(child.ref.path, reason))
        _mark_ended(child)
    ready()
    on_exit(child, incarnation, reason)


class _Ready:
    """Calls ``task_status.started()`` the first time it is called (a slotted object: it
    lives as long as the incarnation, and is smaller than a closure and its cells)."""

    __slots__ = ("started", "task_status")

    def __init__(self, task_status: trio.TaskStatus[None]) -> None:
        self.task_status, self.started = task_status, False

    def __call__(self) -> None:
        if not self.started:
            self.started = True
            self.task_status.started()


def _abandon_error(path: str, reason: ExitReason) -> Exception:
    if isinstance(reason, Crashed):
        return crash_error(path, reason.error)
    return ActorGone(f"actor {path} stopped before answering")
