"""Inbox items through the store (both stores, the ``db`` fixture): written typed with a
unit of work, read back as ``inbox.list`` answers them, unread first, acknowledged once."""

from __future__ import annotations

import attrs
import trio
import trio.testing
from support.storekit import T0, later, running_store

from gnomon.runtime.inbox import InboxItem
from gnomon.runtime.protocol_inbox import InboxResult
from gnomon.runtime.store import Changes


def result(name: str, **fields: object) -> InboxResult:
    base = InboxResult(
        summary=f"{name} completed: ok",
        event="job.completed",
        job_id=f"id-{name}",
        name=name,
        status="completed",
        at=T0,
    )
    return attrs.evolve(base, **fields)


def item(owner: str, name: str, **fields: object) -> InboxItem:
    return InboxItem(owner=owner, job_id=f"id-{name}", created_at=T0, item=result(name, **fields))


async def test_items_round_trip_typed_unread_first(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Each owner reads its own items, every field as written; an acknowledged item
    goes after the unread ones and out of ``unread_only``; a second ack changes nothing."""
    store = await running_store(nursery, db)
    first = item("agent:a", "one", run_id="r1", attempt=1, duration=1.5, output="tail")
    await store.commit(
        Changes(inbox=(first, item("agent:a", "two", cycle=3), item("agent:b", "other")))
    )
    entries = await store.inbox("agent:a", unread_only=False)
    assert [(e.item, e.job_id, e.created_at, e.read) for e in entries] == [
        (first.item, "id-one", T0, False),
        (result("two", cycle=3), "id-two", T0, False),
    ]
    assert await store.ack_inbox("agent:a", [entries[0].id], later(1)) == 1
    assert await store.ack_inbox("agent:a", [entries[0].id], later(2)) == 0
    after = await store.inbox("agent:a", unread_only=False)
    assert [(e.item.name, e.read) for e in after] == [("two", False), ("one", True)]
    assert [e.item.name for e in await store.inbox("agent:a", unread_only=True)] == ["two"]
    assert [e.item.name for e in await store.inbox("agent:b", unread_only=True)] == ["other"]
