"""A create refused because its fresh id's partition moved is tried again, boundedly
(actors/methods/context.py ``created_where_held``; docs/cluster.md)."""

from __future__ import annotations

import pytest

from gnomon.actors.methods.context import MOVED_TRIES, created_where_held
from gnomon.runtime.store import PartitionMoved


def _creates(refusals: list[PartitionMoved]) -> tuple[list[int], object]:
    calls: list[int] = []

    async def create() -> object:
        calls.append(len(calls))
        if refusals:
            raise refusals.pop(0)
        return "created"

    return calls, create


async def test_a_moved_partition_is_tried_again_under_a_new_draw(autojump_clock: object) -> None:
    calls, create = _creates([PartitionMoved("moved", [46])])
    assert await created_where_held(create) == "created"  # type: ignore[arg-type]
    assert len(calls) == 2


async def test_tries_are_bounded(autojump_clock: object) -> None:
    calls, create = _creates([PartitionMoved("moved", [3]) for _ in range(MOVED_TRIES + 2)])
    with pytest.raises(PartitionMoved):
        await created_where_held(create)  # type: ignore[arg-type]
    assert len(calls) == MOVED_TRIES


async def test_a_fenced_node_is_not_tried_again() -> None:
    calls, create = _creates([PartitionMoved("fenced itself", [])])
    with pytest.raises(PartitionMoved):
        await created_where_held(create)  # type: ignore[arg-type]
    assert len(calls) == 1
