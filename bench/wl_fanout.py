"""Event fan-out through a real daemon: ``--subscribers`` WebSocket clients, each
subscribed to every event, while ``--n`` one-shot jobs (created through ``job.create``)
fire in one storm.

Each subscriber has its own connection (as 100 dashboards or agents would) and counts
what it receives: events (every ``seq`` once, in order), ``events.lagged`` notices (the
daemon's bounded outbound queue overflowed; the subscriber re-subscribes from
``resume_from`` and catches up from the store, as the CLI and the dashboard do) and the
delay from an event's timestamp to its arrival. The subscribers run in this process, on
the machine's other core.

Run one: ``python -m bench.wl_fanout --subscribers 100 --n 2000``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import trio
import trio_websocket

from bench.common import emit, lateness_stats, now, sample
from bench.wl_daemon import cpu_seconds, create_many, daemon
from gnomon.cli import client
from gnomon.client.rpc import headers_for
from gnomon.runtime.home import Home


@attrs.define
class Tally:
    """What one subscriber saw."""

    events: int = 0
    out_of_order: int = 0
    lagged: int = 0
    last_seq: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    delays: list[float] = attrs.field(factory=list)

    def saw(self, seq: int, stamp: object) -> None:
        arrived = now()
        self.out_of_order += seq <= self.last_seq
        self.last_seq = seq
        self.events += 1
        self.first_at = self.first_at or arrived
        self.last_at = arrived
        if isinstance(stamp, str) and self.events % 10 == 0:
            self.delays.append(arrived - datetime.fromisoformat(stamp).timestamp())


async def subscriber(
    home: Path, url: str, tally: Tally, ready: trio.Semaphore, batch: bool
) -> None:
    """Count every event from now on, until cancelled; after an ``events.lagged`` notice,
    re-subscribe from ``resume_from`` (what the CLI and the dashboard do)."""
    since: int | None = None
    async with client.connect(Home(home), url, start=False) as conn:
        while True:
            async with conn.subscribe(since_seq=since, batch=batch) as feed:
                if since is None:
                    ready.release()
                async for params in feed:
                    if "event" not in params:  # events.lagged: this subscription is over
                        tally.lagged += 1
                        since = int(params["resume_from"])
                        break
                    tally.saw(int(params["seq"]), params["event"].get("timestamp"))
                else:
                    return


#: The head of each notification as the daemon writes it (runtime/gateway/notify.py).
NOTE = re.compile(
    rb'"method":"events\.(notify|lagged)","params":\{"subscription":"[^"]*","(?:seq|resume_from)":(\d+)'
)
STAMP = re.compile(rb'"timestamp":"([^"]+)"')


async def lean_subscriber(
    home: Path, url: str, tally: Tally, ready: trio.Semaphore, batch: bool
) -> None:
    """:func:`subscriber` without the client library: a raw WebSocket whose frames are
    scanned for each notification's seq instead of decoded, so that 100 of them in one
    process cost less than the daemon that feeds them (what is measured is the daemon)."""
    token = Home(home).read_token()
    since: int | None = None
    async with trio_websocket.open_websocket_url(
        url, extra_headers=headers_for(token, "bench"), max_message_size=64 << 20
    ) as ws:
        while True:
            params = {"since_seq": since, "batch": batch}
            await ws.send_message(
                json.dumps(
                    {"jsonrpc": "2.0", "id": 1, "method": "events.subscribe", "params": params}
                )
            )
            since = await lean_feed(ws, tally, ready if since is None else None)


async def lean_feed(
    ws: trio_websocket.WebSocketConnection, tally: Tally, ready: trio.Semaphore | None
) -> int:
    """Count notifications until an ``events.lagged``; its ``resume_from`` (``ready`` is
    released when the subscription's answer arrives)."""
    while True:
        frame = (await ws.get_message()).encode()
        if ready is not None and b'"id":1,"result"' in frame:
            ready.release()
            ready = None
        for match in NOTE.finditer(frame):
            if match[1] == b"lagged":
                tally.lagged += 1
                return int(match[2])
            tally.events += 1
            seq = int(match[2])
            tally.out_of_order += seq <= tally.last_seq
            tally.last_seq = seq
            tally.last_at = now()
            tally.first_at = tally.first_at or tally.last_at
            if tally.events % 10 == 0:
                stamp = STAMP.search(frame, match.end())
                if stamp:
                    tally.delays.append(
                        tally.last_at - datetime.fromisoformat(stamp[1].decode()).timestamp()
                    )


def db_count(db: Path, where: str = "1") -> int:
    """Committed events matching ``where`` (a read-only connection of its own)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(f"SELECT count(*) FROM events WHERE {where}").fetchone()[0])
    finally:
        conn.close()


async def fanout(
    home: Path, url: str, subs: int, n: int, due: datetime, batch: bool, lean: bool
) -> dict[str, Any]:
    db = home / "gnomon.db"
    tallies = [Tally() for _ in range(subs)]
    ready = trio.Semaphore(0, max_value=subs)
    before = db_count(db)
    async with trio.open_nursery() as nursery:
        for tally in tallies:
            nursery.start_soon(
                lean_subscriber if lean else subscriber, home, url, tally, ready, batch
            )
        for _ in range(subs):
            await ready.acquire()
        await create_many(home, url, range(n), due, 64)
        with trio.move_on_at(trio.current_time() + (due.timestamp() - now()) + 300):
            while db_count(db, "type = 'job.completed'") < n:  # noqa: ASYNC110 - polls the db
                await trio.sleep(0.2)
        await trio.sleep(1.0)  # the storm's last commits
        expected = db_count(db) - before
        with trio.move_on_after(120):
            while any(t.events < expected for t in tallies):  # noqa: ASYNC110
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    received = sum(t.events for t in tallies)
    firsts = [t.first_at for t in tallies if t.first_at]
    span = max(t.last_at for t in tallies) - min(firsts) if firsts else 0.0
    delays = [d for t in tallies for d in t.delays]
    return {
        "subscribers": subs,
        "batch": batch,
        "lean_subscribers": lean,
        "jobs": n,
        "expected_per_subscriber": expected,
        "complete_subscribers": sum(t.events >= expected for t in tallies),
        "lagged": sum(t.lagged for t in tallies),
        "out_of_order": sum(t.out_of_order for t in tallies),
        "deliveries": received,
        "deliveries_per_s": received / span if span > 0 else None,
        "events_per_s_each": received / subs / span if span > 0 else None,
        **{k.replace("late", "delay"): v for k, v in lateness_stats(delays).items()},
        "samples": sample(delays),
    }


def run(a: argparse.Namespace, home: Path) -> dict[str, Any]:
    with daemon(home) as (proc, url):
        # the slot lies after subscribing and creating (at ~1.5k creates/s)
        due = datetime.now(UTC) + timedelta(seconds=5 + a.n / 1000)
        started = time.perf_counter()
        cpu = cpu_seconds(proc.pid), os.times()
        res = trio.run(fanout, home, url, a.subscribers, a.n, due, not a.no_batch, a.lean)
        res["wall_s"] = time.perf_counter() - started
        ours = os.times()
        deliveries = max(1, res["deliveries"])
        res["daemon_cpu_us_per_delivery"] = (cpu_seconds(proc.pid) - cpu[0]) * 1e6 / deliveries
        mine = ours.user + ours.system - cpu[1].user - cpu[1].system
        res["subscribers_cpu_us_per_delivery"] = mine * 1e6 / deliveries
    return res


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--n", type=int, default=2_000)
    p.add_argument("--lean", action="store_true", help="subscribers scan frames, no client library")
    p.add_argument("--no-batch", action="store_true", help="one frame per event (no `batch`)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="gnomon-fanout-bench-") as tmp:
        res = run(a, Path(tmp) / "home")
    res.update(system="gnomon", store="sqlite", workload="SUBS")
    emit(res)


if __name__ == "__main__":
    main()
