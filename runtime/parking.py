"""Parking a task until another one hands it a value: the waiting under the kernel's
mailboxes and replies (docs/performance.md, "Kernel").

A parked task is an entry in a plain list owned by what it waits on, made only while
someone waits — no :class:`trio.Event`, no memory channel, no lot per object, and no
coroutine frame of its own (the functions below return trio's wait itself). Waking hands
the task its value in the same step (:func:`trio.lowlevel.reschedule`): once woken it can
no longer be cancelled out of the wait, so a value handed over is never lost.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Awaitable
from typing import Any

import outcome
import trio

Task = trio.lowlevel.Task


def park(waiters: list[Task]) -> Awaitable[Any]:
    """Await to wait in ``waiters`` (appended now) until :func:`wake` hands this task a
    value, which the await returns.

    Cancellation: a cancelled wait removes the task from ``waiters`` and raises
    :class:`trio.Cancelled`; it never returns a value it did not get.
    """
    task = trio.lowlevel.current_task()
    waiters.append(task)
    return trio.lowlevel.wait_task_rescheduled(  # noqa: ASYNC105 - awaited by the caller
        functools.partial(_unpark, waiters, task)
    )


def park_holding(waiters: dict[Task, Any], item: Any) -> Awaitable[Any]:
    """Like :func:`park`, as the key of ``item`` in ``waiters`` (e.g. the message a
    blocked sender will put); a cancelled wait removes both."""
    task = trio.lowlevel.current_task()
    waiters[task] = item
    return trio.lowlevel.wait_task_rescheduled(  # noqa: ASYNC105 - awaited by the caller
        functools.partial(_unpark_holding, waiters, task)
    )


def wake(task: Task, value: Any = None) -> None:
    """Resume a parked ``task`` (already removed from its waiters) with ``value``."""
    trio.lowlevel.reschedule(task, outcome.Value(value))


def fail(task: Task, error: BaseException) -> None:
    """Resume a parked ``task`` (already removed from its waiters) by raising ``error``."""
    trio.lowlevel.reschedule(task, outcome.Error(error))


def _unpark(waiters: list[Task], task: Task, _: Any) -> trio.lowlevel.Abort:
    waiters.remove(task)
    return trio.lowlevel.Abort.SUCCEEDED


def _unpark_holding(waiters: dict[Task, Any], task: Task, _: Any) -> trio.lowlevel.Abort:
    del waiters[task]
    return trio.lowlevel.Abort.SUCCEEDED


# -- parking with a deadline: one alarm task per trio run instead of a cancel scope each --


class _TimedOut:
    def __repr__(self) -> str:
        return "TIMED_OUT"


#: What a wait of :func:`park_until` returns when its deadline came first.
TIMED_OUT = _TimedOut()


class Parked:
    """A task parked in ``waiters`` by :func:`park_until` (``alarms``: it has a deadline)."""

    __slots__ = ("alarms", "done", "task", "waiters")

    def __init__(self, task: Task, waiters: list[Parked], alarms: Alarms | None) -> None:
        self.task, self.waiters, self.alarms, self.done = task, waiters, alarms, False

    def finish(self) -> None:
        """Leave the wait (already out of ``waiters``); its alarm, if any, goes stale."""
        self.done = True
        if self.alarms is not None:
            self.alarms.stale += 1


def park_until(waiters: list[Parked], deadline: float) -> Awaitable[Any]:
    """Await to wait in ``waiters`` until :func:`wake_first`/:func:`wake_all` hand this task
    a value, or trio time reaches ``deadline`` (the await then returns :data:`TIMED_OUT`).
    A finite deadline costs an entry in the run's alarm heap, not a cancel scope.

    Cancellation: as :func:`park` — nothing handed over is lost.
    """
    alarms = None if deadline == math.inf else Alarms.of_this_run()
    parked = Parked(trio.lowlevel.current_task(), waiters, alarms)
    waiters.append(parked)
    if alarms is not None:
        alarms.add(deadline, parked)
    return trio.lowlevel.wait_task_rescheduled(  # noqa: ASYNC105 - awaited by the caller
        functools.partial(_unpark_until, parked)
    )


def wake_first(waiters: list[Parked], value: Any) -> None:
    """Hand ``value`` to the first task in ``waiters`` (there must be one)."""
    parked = waiters.pop(0)
    parked.finish()
    wake(parked.task, value)


def wake_all(waiters: list[Parked], value: Any = None, error: BaseException | None = None) -> None:
    """Hand every task in ``waiters`` ``value`` (or raise ``error`` in each), emptying it."""
    while waiters:
        parked = waiters.pop(0)
        parked.finish()
        if error is None:
            wake(parked.task, value)
        else:
            fail(parked.task, error)


def _unpark_until(parked: Parked, _: Any) -> trio.lowlevel.Abort:
    parked.waiters.remove(parked)
    parked.finish()
    return trio.lowlevel.Abort.SUCCEEDED


_ALARMS: trio.lowlevel.RunVar[Alarms] = trio.lowlevel.RunVar("gnomon_alarms")
_COMPACT_STALE_AT = 256


class Alarms:
    """The deadlines of one trio run's timed waits: a heap served by one system task that
    sleeps until the earliest and wakes the waits that are due with :data:`TIMED_OUT`.

    Entries of waits that ended otherwise are skipped when due, and dropped in one pass
    once they outnumber the live ones. Cancellation: the task ends with the run.
    """

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Parked]] = []
        self.stale = 0
        self._seq = 0
        self._scope = trio.CancelScope()

    @staticmethod
    def of_this_run() -> Alarms:
        """The current run's alarms (started on first use)."""
        try:
            return _ALARMS.get()
        except LookupError:
            alarms = Alarms()
            _ALARMS.set(alarms)
            trio.lowlevel.spawn_system_task(alarms._serve, name="gnomon.runtime.parking.alarms")
            return alarms

    def add(self, deadline: float, parked: Parked) -> None:
        """Wake ``parked`` at ``deadline`` unless it is done by then."""
        self._seq += 1
        heapq.heappush(self.heap, (deadline, self._seq, parked))
        if deadline < self._scope.deadline:
            self._scope.deadline = deadline
        if self.stale > _COMPACT_STALE_AT and 2 * self.stale > len(self.heap):
            self.heap = [entry for entry in self.heap if not entry[2].done]
            heapq.heapify(self.heap)
            self.stale = 0

    def fire(self, now: float) -> float:
        """Wake the waits due at ``now``; return the next deadline (``inf``: none)."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            parked = heapq.heappop(heap)[2]
            if parked.done:
                self.stale -= 1
                continue
            parked.waiters.remove(parked)
            parked.done = True
            wake(parked.task, TIMED_OUT)
        return heap[0][0] if heap else math.inf

    async def _serve(self) -> None:
        while True:
            with self._scope:
                await trio.sleep_forever()
            self._scope = trio.CancelScope(deadline=self.fire(trio.current_time()))
