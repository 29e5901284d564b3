"""Chunks committed with several transactions in flight (the batch firer's fires).

The batch firer (``actors/job/batch.py``) used to commit the jobs due together chunk after
chunk: stage 256 units, await their transaction, perform, stage the next. The trio thread
and the store's thread then took turns, and 10k waits due at once started ~2× later than
10k job actors started them (each actor stages at its slot and the store group-commits
behind them: docs/performance.md, W6). :func:`pipelined` stages the next chunk while the
earlier ones commit, up to ``depth`` transactions in flight.

Staging is synchronous and runs on the caller's task, in order, one chunk at a time: a
chunk is wholly staged (its jobs' units sealed and the jobs marked busy) before anything
else of the firer runs, so a command never finds a job stepped but not yet owned by its
commit. Commits end in any order (different jobs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import trio

#: Chunks' transactions in flight at once (the store's writer takes two chunks of 256 in
#: one transaction when they wait together: runtime/store/writer.py, ``MAX_BATCH``).
DEPTH = 8

Part = TypeVar("Part")
Staged = TypeVar("Staged")


async def pipelined(
    parts: Sequence[Part],
    stage: Callable[[int, Part], Staged],
    commit: Callable[[Staged], Awaitable[None]],
    *,
    depth: int = DEPTH,
) -> None:
    """Stage ``parts`` in order (``stage(index, part)``, synchronous) and commit each
    staged chunk in a task of its own, with at most ``depth`` commits in flight: part
    ``k + 1`` is staged as soon as there is room, while part ``k`` commits.

    Errors: the first error of a stage or a commit stops the staging; commits already in
    flight are left to finish (none is abandoned half-answered); then that error is raised
    as itself (not in a group). Cancellation: cancels the commits in flight (the store may
    still write their units; the caller's owner crashes or stops with them).
    """
    room = trio.Semaphore(max(1, depth))
    failed: list[Exception] = []

    async def one(staged: Staged) -> None:
        try:
            await commit(staged)
        except Exception as exc:
            failed.append(exc)
        finally:
            room.release()

    async with trio.open_nursery() as nursery:
        for index, part in enumerate(parts):
            await room.acquire()
            if failed:
                break
            try:
                staged = stage(index, part)
            except Exception as exc:
                failed.append(exc)
                break
            nursery.start_soon(one, staged)
    if failed:
        raise failed[0]
