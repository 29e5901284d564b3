"""Event tail benchmark: how fast and how late one node's bus gets other nodes' events
(runtime/cluster/tail.py, docs/cluster.md "Events on every node").

``python -m bench.cluster_events [--store postgresql://postgres@127.0.0.1:5432/postgres]
[--writers 2] [--rates 500,2000,5000] [--seconds 5] [--json]``

In one process, on a fresh database: ``--writers`` shared :class:`PgStore` s (the other
nodes) commit units of three events (``job.fired``, ``job.running``, ``job.completed``)
at the given total event rate, paced every 10 ms; one more store with its bus and
:class:`EventTail` (the observing node) commits nothing. A subscriber on that bus records
when each ``seq`` arrives. The delay of an event is its arrival minus the moment its
writer's ``commit`` returned (the commit and its NOTIFY are done by then). A benchmark,
not a test: it prints a table (or JSON); nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import trio

from bench.pg import fresh_pg
from gnomon.runtime import Supervisor
from gnomon.runtime.cluster.tail import EventTail
from gnomon.runtime.event_bus import EventBus, Lagged
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import Event, EventDraft, EventType
from gnomon.runtime.store import Changes
from gnomon.runtime.store.pg import PgStore
from gnomon.runtime.store.writer import Publish

KEY = b"b" * 32
TICK = 0.01
KINDS = (EventType.JOB_FIRED, EventType.JOB_RUNNING, EventType.JOB_COMPLETED)


def unit(job: str, n: int) -> Changes:
    now = datetime.now(UTC)
    return Changes(
        events=tuple(
            EventDraft(
                type=kind,
                timestamp=now,
                job_id=job,
                name=f"bench-{job}",
                owner="user:bench",
                status=JobStatus.RUNNING,
                message=f"{kind.value} {n}",
                payload={"fire_time": now.isoformat(), "lag": 0.001, "cycle": n},
            )
            for kind in KINDS
        )
    )


async def store(nursery: trio.Nursery, url: str, publish: Publish | None = None) -> PgStore:
    pg = PgStore(url, audit_key=KEY, exclusive=False, publish=publish)
    await nursery.start(Supervisor("infra", children=[pg.writer_spec()]).run)
    return pg


async def writer(pg: PgStore, name: str, rate: float, until: float, out: dict[int, float]) -> None:
    """Commit ``rate`` events/s (units of three, every :data:`TICK`) until ``until``."""
    units_per_tick, carry, n = rate * TICK / len(KINDS), 0.0, 0
    async with trio.open_nursery() as nursery:
        while trio.current_time() < until:
            carry += units_per_tick
            while carry >= 1:
                carry -= 1
                n += 1
                nursery.start_soon(one, pg, f"{name}{n % 64}", n, out)
            await trio.sleep(TICK)


async def one(pg: PgStore, job: str, n: int, out: dict[int, float]) -> None:
    events = await pg.commit(unit(job, n))
    done = trio.current_time()
    for event in events:
        out[event.seq] = done


async def run(url: str, writers: int, rate: float, seconds: float) -> dict[str, Any]:
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    lags = 0
    async with trio.open_nursery() as nursery:

        def published(events: Sequence[Event]) -> None:
            tail.committed(events)  # the observer's tail is built on its store, below

        stores = [await store(nursery, url) for _ in range(writers)]
        observer = await store(nursery, url, publish=published)
        stores.append(observer)
        bus = EventBus(observer.events, capacity=1 << 16)
        tail = EventTail(url, start=observer.last_seq, publish=bus.publish)
        await nursery.start(tail.serve)
        async with bus.subscribe() as stream:
            until = trio.current_time() + seconds
            async with trio.open_nursery() as writing:
                for i, pg in enumerate(stores[:-1]):
                    writing.start_soon(writer, pg, f"w{i}-", rate / writers, until, committed)
                with trio.move_on_after(seconds + 5):
                    async for item in stream:
                        if isinstance(item, Lagged):
                            lags += 1
                            break
                        arrived[item.seq] = trio.current_time()
                        if trio.current_time() > until and set(committed) <= set(arrived):
                            break
        reads = tail.reads
        nursery.cancel_scope.cancel()
    for pg in stores:
        pg.close()
    delays = sorted(1000 * (arrived[s] - committed[s]) for s in committed if s in arrived)
    q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))] if delays else 0.0  # noqa: E731
    return {
        "rate": rate,
        "events": len(committed),
        "arrived": len(arrived),
        "in_order": list(arrived) == sorted(arrived),
        "p50_ms": round(statistics.median(delays), 2) if delays else None,
        "p99_ms": round(q(0.99), 2),
        "max_ms": round(delays[-1], 2) if delays else None,
        "reads": reads,
        "lags": lags,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--rates", default="500,2000,5000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for rate in (float(r) for r in args.rates.split(",")):
        with fresh_pg(args.store) as url:
            results.append(trio.run(run, url, args.writers, rate, args.seconds))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("events/s  committed  arrived  in order  p50 ms  p99 ms  max ms  reads  lags")
    for r in results:
        print(
            f"{r['rate']:>8g}  {r['events']:>9}  {r['arrived']:>7}  {r['in_order']!s:>8}"
            f"  {r['p50_ms']:>6}  {r['p99_ms']:>6}  {r['max_ms']:>6}"
            f"  {r['reads']:>5}  {r['lags']:>4}"
        )


if __name__ == "__main__":
    main()
