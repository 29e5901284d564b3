"""Where an owner's runs execute: a queue served by tasks in the owner's nursery.

A run used to be a task of its own. Most of a run whose action ends at once (a ``noop``,
an open breaker, a test executor) was then the task: spawning it, its first step, its
exit. :class:`RunPool` queues the runs instead and serves them with as few tasks as keep
every run going: a task that takes a run while others are queued first spawns one more
task (if none is on its way), so a run that blocks never holds up the runs behind it, and
a burst of runs that end at once is served by one task in one step. The price: a burst of
runs that all block starts one run per pass of the scheduler (each task spawns the next)
instead of all in one pass — the same work, spread over as many passes.

The tasks live in the owner's nursery, as the runs' tasks did: cancelling it (the
owner's crash or stop) cancels the run in progress and every queued one, which each
start and find themselves cancelled, as a task spawned into a cancelled nursery would.
Each run still has its own cancel scope (:func:`gnomon.actors.job.perform.perform_run`):
a kill reaches a run in the queue when it starts, and one in progress at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import trio

Job = Callable[[], Awaitable[None]]


class RunPool:
    """Runs ``Job`` s in ``nursery`` (see the module docstring).

    Errors: a job that raises takes its task down, and the nursery with it (as a run's
    own task did).
    """

    __slots__ = ("_coming", "_queue", "nursery")

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self._queue: deque[Job] | None = None  # made by the first run (most actors run none)
        self._coming = False  # a task was spawned and has not taken a job yet

    def submit(self, job: Job) -> None:
        """Queue ``job``; it starts once a task of the pool takes it (a task is on its
        way whenever the queue is not empty)."""
        if self._queue is None:
            self._queue = deque()
        self._queue.append(job)
        if not self._coming:
            self._spawn()

    def _spawn(self) -> None:
        self._coming = True
        self.nursery.start_soon(self._serve)

    async def _serve(self) -> None:
        self._coming = False
        queue = self._queue
        assert queue is not None  # a task is spawned by submit
        while queue:
            job = queue.popleft()
            if queue and not self._coming:  # should this job block, the next one starts
                self._spawn()
            await job()
