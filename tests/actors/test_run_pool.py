"""The run pool (actors/job/run_pool.py): runs served by tasks of the owner's nursery."""

from __future__ import annotations

import trio
import trio.testing

from gnomon.actors.job.run_pool import Job, RunPool


async def test_runs_that_end_at_once_share_one_task(autojump_clock: trio.abc.Clock) -> None:
    """A burst of runs that never block is served by one task, in submission order."""
    done: list[tuple[int, object]] = []

    def job(i: int) -> Job:
        async def run() -> None:
            done.append((i, trio.lowlevel.current_task()))

        return run

    async with trio.open_nursery() as nursery:
        pool = RunPool(nursery)
        for i in range(50):
            pool.submit(job(i))
    assert [i for i, _ in done] == list(range(50))
    assert len({task for _, task in done}) == 1


async def test_a_blocking_run_never_holds_up_the_next(autojump_clock: trio.abc.Clock) -> None:
    """Runs that block all start at once (virtual time) and end together."""
    started: list[float] = []

    async def run() -> None:
        started.append(trio.current_time())
        await trio.sleep(10)

    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        pool = RunPool(nursery)
        for _ in range(20):
            pool.submit(run)
    assert started == [t0] * 20
    assert trio.current_time() - t0 == 10


async def test_cancelling_the_nursery_reaches_queued_runs(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The owner's nursery cancelled: the run in progress and every queued one start
    cancelled (none completes), as tasks of their own would."""
    completed: list[int] = []

    def job(i: int) -> Job:
        async def run() -> None:
            await trio.sleep(5)
            completed.append(i)

        return run

    async with trio.open_nursery() as nursery:
        pool = RunPool(nursery)
        for i in range(10):
            pool.submit(job(i))
        nursery.cancel_scope.cancel()
    assert completed == []
    assert nursery.cancel_scope.cancelled_caught
