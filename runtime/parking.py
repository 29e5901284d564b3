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
