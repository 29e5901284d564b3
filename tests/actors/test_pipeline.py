"""actors/job/pipeline.py: chunks staged in order while earlier ones commit, at most
``depth`` commits in flight, the owner woken after each, idle once all are done."""

from __future__ import annotations

import pytest
import trio

from gnomon.actors.job.pipeline import Pipeline


async def test_stages_in_order_while_at_most_depth_commits_are_in_flight(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Seven chunks, depth 3, each commit takes 1 s: chunks 0–2 are staged at once, each
    later one as soon as a commit ends; never more than 3 in flight; ``done`` after each
    commit; ``idle`` returns when the last has ended."""
    staged: list[tuple[int, float]] = []
    flying = [0, 0]  # now, most
    woken: list[float] = []

    async def commit(index: int) -> None:
        flying[0] += 1
        flying[1] = max(flying)
        await trio.sleep(1)
        flying[0] -= 1

    def stage(index: int) -> int:
        staged.append((index, trio.current_time()))
        return index

    async with trio.open_nursery() as nursery:
        pipe = Pipeline(3, lambda: woken.append(trio.current_time()))
        pipe.bind(nursery)
        start = trio.current_time()
        for index in range(7):
            await pipe.submit(lambda index=index: stage(index), commit)  # type: ignore[misc]
        await pipe.idle()
        assert trio.current_time() - start == 3
    assert [i for i, _ in staged] == list(range(7))
    assert [round(t - start) for _, t in staged] == [0, 0, 0, 1, 1, 1, 2]
    assert flying[1] == 3
    assert len(woken) == 7


async def test_a_stage_that_raises_takes_no_room_and_a_failed_commit_raises_in_the_nursery(
    autojump_clock: trio.abc.Clock,
) -> None:
    async def fail(_: int) -> None:
        raise RuntimeError("store down")

    def bad() -> int:
        raise ValueError("no")

    async def run() -> None:
        pipe = Pipeline(1, lambda: None)
        async with trio.open_nursery() as nursery:
            pipe.bind(nursery)
            with pytest.raises(ValueError, match="no"):
                await pipe.submit(bad, fail)
            with trio.fail_after(1):  # the room the failed stage took is back
                await pipe.submit(lambda: 1, fail)
            await trio.sleep_forever()

    with pytest.raises(ExceptionGroup) as caught:
        await run()
    assert caught.group_contains(RuntimeError, match="store down")
