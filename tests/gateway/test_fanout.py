"""200 concurrent clients on one real daemon, each subscribing to every event and then
creating a job: every subscriber receives each event exactly once, in seq order, with no
gap, including all 200 ``job.created`` events."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from gateway.rawws import Raw, connect, hourly_spec
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow
CLIENTS = 200


class Feed:
    """One client's view of its subscription (re-subscribing after events.lagged)."""

    def __init__(self, conn: Raw, start: int) -> None:
        self.conn, self.last = conn, start
        self.sub = ""
        self.seqs: list[int] = []
        self.created: list[str] = []

    async def subscribe(self) -> None:
        answer = await self.conn.result("events.subscribe", {"since_seq": self.last})
        self.sub = answer["subscription"]

    async def take(self, note: dict[str, Any]) -> None:
        params = note["params"]
        assert params["subscription"] == self.sub, note
        if note["method"] == "events.lagged":
            assert params["resume_from"] == self.last, note
            await self.subscribe()
            return
        assert note["method"] == "events.notify", note
        self.seqs.append(params["seq"])
        self.last = params["seq"]
        if params["event"]["type"] == "job.created":
            self.created.append(params["event"]["job_id"])

    async def until_created(self, count: int) -> None:
        """Consume notifications until ``count`` job.created events arrived."""
        while len(self.created) < count:
            if not self.conn.notes:
                self.conn.notes.append(await self.conn.recv())
            await self.take(self.conn.notes.pop(0))


async def client(daemon: RealDaemon, index: int, start: int, out: dict[int, Any]) -> None:
    async with connect(daemon) as conn:
        feed = Feed(conn, start)
        await feed.subscribe()
        job = await conn.result("job.create", {"spec": hourly_spec(f"fan-{index}")})
        await feed.until_created(CLIENTS)
        out[index] = (job["id"], feed)


async def test_200_clients_each_get_every_event_once_in_order(daemon: RealDaemon) -> None:
    """Each of 200 subscribers sees a gap-free, duplicate-free seq run holding every
    client's job.created exactly once."""
    async with connect(daemon) as admin:
        start = (await admin.result("events.list", {"since_seq": 0, "limit": 1}))["last_seq"]
    out: dict[int, Any] = {}
    with trio.fail_after(45):
        async with trio.open_nursery() as nursery:
            for index in range(CLIENTS):
                nursery.start_soon(client, daemon, index, start, out)
    job_ids = sorted(job_id for job_id, _ in out.values())
    assert len(set(job_ids)) == CLIENTS
    for _, feed in out.values():
        assert feed.seqs == list(range(start + 1, start + 1 + len(feed.seqs)))
        assert sorted(feed.created) == job_ids
