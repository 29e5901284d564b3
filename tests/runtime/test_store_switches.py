"""Stored switches on both stores: ``update_switch`` changes the value as stored in one
transaction (what keeps a cluster's nodes from overwriting each other's calendars and
shell policy, docs/cluster.md), and a change that raises writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
from support.storekit import running_store

from gnomon.runtime.errors import Conflict


async def test_update_switch_changes_the_stored_value_and_a_raising_change_writes_nothing(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """The change sees what is stored (``None`` at first) and its result is stored."""
    store = await running_store(nursery, db)
    seen: list[str | None] = []

    def append(value: str) -> Callable[[str | None], str]:
        def change(current: str | None) -> str:
            seen.append(current)
            return (current or "") + value

        return change

    assert await store.update_switch("s", append("a")) == "a"
    await store.set_switch("s", "ab")
    assert await store.update_switch("s", append("c")) == "abc"
    assert seen == [None, "ab"]

    def refuse(current: str | None) -> str:
        raise Conflict(f"no: {current}")

    with pytest.raises(Conflict, match="no: abc"):
        await store.update_switch("s", refuse)
    with pytest.raises(Conflict, match="no: None"):
        await store.update_switch("fresh", refuse)
    assert store.switch_now("s") == "abc"
    assert store.switch_now("fresh") is None
