"""Chunks committed with several transactions in flight (the batch firer's fires).

The batch firer (``actors/job/batch.py``) used to commit the jobs due together chunk after
chunk: stage 256 units, await their transaction, perform, stage the next — and only then
look at the jobs handed in meanwhile. The trio thread and the store's thread took turns,
and 10k waits due at once started ~2× later than 10k job actors started them (each actor
stages at its slot and the store group-commits behind them: docs/performance.md, W6).
A :class:`Pipeline` stages the next chunk while earlier ones commit, up to ``depth``
transactions in flight, each committing in a task of the owner's nursery, so the owner's
loop goes on (jobs handed in, results, ends) while they commit.

Staging is synchronous and runs on the caller's task, one chunk at a time: a chunk is
wholly staged (its jobs' units sealed and the jobs marked busy) before anything else of
the owner runs, so a command never finds a job stepped but not yet owned by its commit.
Commits end in any order (different jobs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

#: Chunks' transactions in flight at once: one writing, the next ones staged and queued
#: (the store's writer takes two waiting chunks of 256 in one transaction). Deeper (16)
#: staged W6's fires sooner but started W1's runs later (docs/performance.md, W6).
DEPTH = 4

Staged = TypeVar("Staged")


class Pipeline:
    """Commits in flight in the owner's nursery (:meth:`bind`), at most ``depth`` at once;
    ``done`` is called after each (the owner's wake-up: a commit settles jobs the owner's
    loop looks at).

    Errors: a commit that raises raises in the nursery (its owner crashes, as when it
    awaited the commit itself). Cancellation: with the nursery, the commits in flight are
    cancelled (the store may still write their units).
    """

    def __init__(self, depth: int, done: Callable[[], None]) -> None:
        self._depth = max(1, depth)
        self._done = done
        self.bind(None)

    def bind(self, nursery: trio.Nursery | None) -> None:
        """Commit in ``nursery`` from now on (the owner's, at each start of its loop)."""
        self._nursery = nursery
        self._room = trio.Semaphore(self._depth)
        self._flying = 0
        self._idle = trio.Event()
        self._idle.set()

    async def submit(
        self, stage: Callable[[], Staged], commit: Callable[[Staged], Awaitable[None]]
    ) -> None:
        """Wait for room, then ``stage()`` (synchronous, nothing runs meanwhile) and start
        ``commit`` of what it staged. A stage that raises takes no room and starts nothing."""
        assert self._nursery is not None, "bind() first"
        await self._room.acquire()
        try:
            staged = stage()
        except BaseException:
            self._room.release()
            raise
        if not self._flying:
            self._idle = trio.Event()
        self._flying += 1
        self._nursery.start_soon(self._commit, commit, staged)

    async def _commit(self, commit: Callable[[Staged], Awaitable[None]], staged: Staged) -> None:
        try:
            # a nursery cancelled since ``submit`` (a stop tearing down the store) cancels
            # the commit here, before it reaches a store that may be gone already
            await trio.lowlevel.checkpoint()
            await commit(staged)
        finally:
            self._room.release()
            self._flying -= 1
            if not self._flying:
                self._idle.set()
            self._done()

    async def idle(self) -> None:
        """Return once no commit is in flight."""
        while self._flying:
            await self._idle.wait()
