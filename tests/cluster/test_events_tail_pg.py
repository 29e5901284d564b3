"""The event tail (runtime/cluster/tail.py) on a real PostgreSQL: stores of several nodes
commit into one database at once, and each node's bus — fed by its tail — carries every
event once, in ``seq`` order, its own and the others'; the node's own observer (its
metrics) sees only its own commits; a tail whose connections were cut catches up.
Skipped with the reason where no PostgreSQL server answers."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import trio
from support.pgkit import fresh_database
from support.storekit import draft, running_store

psycopg = pytest.importorskip("psycopg")

from gnomon.runtime.cluster.tail import EventTail  # noqa: E402
from gnomon.runtime.event_bus import EventBus, Lagged  # noqa: E402
from gnomon.runtime.model.events import Event  # noqa: E402
from gnomon.runtime.store import Changes  # noqa: E402

pytestmark = pytest.mark.slow
KEY = b"k" * 32


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


class Node:
    """A store, its bus and its tail, as a clustered daemon wires them: the store, built
    first, publishes its commits to the tail built on it (``Daemon._published``)."""

    def __init__(self, store: Any, url: str) -> None:
        self.store = store
        self.bus = EventBus(store.events)
        self.own: list[int] = []
        self.tail = EventTail(
            url,
            start=store.last_seq,
            publish=self.bus.publish,
            observe_own=lambda e: self.own.append(e.seq),
        )


async def node(nursery: trio.Nursery, url: str) -> Node:
    def published(events: Sequence[Event]) -> None:
        made.tail.committed(events)  # the node is built on the store, below

    store = await running_store(
        nursery, url, inline=False, audit_key=KEY, exclusive=False, publish=published
    )
    made = Node(store, url)
    await nursery.start(made.tail.serve)
    return made


async def collect(bus: EventBus, upto: int, into: list[int]) -> None:
    """Every seq the bus delivers to a ``since_seq=0`` subscriber, up to ``upto``."""
    async with bus.subscribe(since_seq=0) as stream:
        async for item in stream:
            assert not isinstance(item, Lagged)
            into.append(item.seq)
            if item.seq >= upto:
                return


async def write(store: Any, name: str, units: int) -> list[Event]:
    out: list[Event] = []
    for i in range(units):
        drafts = tuple(draft(f"{name}{i}", f"{name}{i}.{k}") for k in range(1 + i % 3))
        out += await store.commit(Changes(events=drafts))
        await trio.sleep(0.001 * (i % 4))
    return out


async def test_every_node_sees_every_event_in_seq_order(nursery: trio.Nursery, pg_url: str) -> None:
    a, b, c = [await node(nursery, pg_url) for _ in range(3)]
    total = sum(1 + i % 3 for i in range(60)) * 2
    seen: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    live: list[int] = []
    async with trio.open_nursery() as readers:
        for name, n in (("a", a), ("b", b), ("c", c)):
            readers.start_soon(collect, n.bus, total, seen[name])
        readers.start_soon(write, a.store, "a", 60)
        readers.start_soon(write, b.store, "b", 60)

        async def live_only() -> None:  # no since_seq: what the bus publishes from now on
            async with c.bus.subscribe() as stream:
                async for item in stream:
                    assert not isinstance(item, Lagged)
                    live.append(item.seq)
                    if item.seq >= total:
                        return

        readers.start_soon(live_only)
    assert seen == {k: list(range(1, total + 1)) for k in seen}
    assert live == list(range(live[0], total + 1))
    mine_a = set(a.own)
    assert mine_a
    assert not mine_a & set(b.own)
    assert sorted(mine_a | set(b.own)) == list(range(1, total + 1))
    assert c.own == []
    assert await c.store.last_seq() == total  # the shared head, not c's own (none)


async def test_a_tail_whose_connections_were_cut_catches_up(
    nursery: trio.Nursery, pg_url: str
) -> None:
    a, c = await node(nursery, pg_url), await node(nursery, pg_url)
    await write(a.store, "x", 5)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'gnomon-cluster'"
        )
    written = await write(a.store, "y", 10)
    got: list[int] = []
    with trio.fail_after(60):  # a bound on a hang only
        await collect(c.bus, written[-1].seq, got)
    assert got == list(range(1, written[-1].seq + 1))


async def test_a_tail_behind_pruned_events_skips_them_after_the_grace(
    nursery: trio.Nursery, pg_url: str
) -> None:
    a = await node(nursery, pg_url)
    written = await write(a.store, "p", 6)
    await a.store.prune_events(5)
    published: list[int] = []
    got = trio.Event()

    async def from_zero() -> int:
        return 0

    def publish(events: Any) -> None:
        published.extend(e.seq for e in events)
        got.set()

    late = EventTail(
        pg_url,
        start=from_zero,
        publish=publish,
        catch_up=0.05,
        gap_grace=0.2,
    )
    await nursery.start(late.serve)
    with trio.fail_after(60):  # a bound on a hang only
        await got.wait()
    assert published == list(range(6, written[-1].seq + 1))
    assert late.cursor is not None
    assert late.cursor.skipped == 5


async def test_a_shared_store_notifies_each_commit_with_its_head(
    nursery: trio.Nursery, pg_url: str
) -> None:
    listener = psycopg.connect(pg_url, autocommit=True)
    try:
        listener.execute("LISTEN gnomon_events")
        shared = await running_store(nursery, pg_url, inline=False, audit_key=KEY, exclusive=False)
        first = await write(shared, "n", 3)  # 1 + 2 + 3 events in three commits
        payloads: list[str] = []
        deadline = time.monotonic() + 60  # a bound on a hang only: they were sent at commit
        while len(payloads) < 3 and time.monotonic() < deadline:
            got = listener.notifies(timeout=1, stop_after=3 - len(payloads))
            payloads += [n.payload for n in got]
        assert payloads == ["1", "3", str(first[-1].seq)]
        assert await shared.last_seq() == first[-1].seq
    finally:
        listener.close()


async def test_audit_verify_while_the_node_commits_never_sees_its_head_move_back(
    nursery: trio.Nursery, pg_url: str
) -> None:
    """``audit verify`` compares the anchors it reads with the head this node committed; a
    commit finishing while the anchors are read must not look like a rollback (it did in
    the 3-node storm: 'head moved back from 38640 to 38531 while the daemon ran')."""
    a = await node(nursery, pg_url)
    done = trio.Event()

    async def busy() -> None:
        await write(a.store, "v", 400)
        done.set()

    nursery.start_soon(busy)
    reports = []
    while not done.is_set():
        reports.append(await a.store.verify_audit())
    assert reports
    assert all(r.ok for r in reports), [r for r in reports if not r.ok][:1]
