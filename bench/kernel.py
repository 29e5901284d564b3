"""Kernel benchmark: ask round trip, tell throughput, memory per idle actor.

Run: ``python bench/kernel.py [--actors 1,1000,100000] [--asks 20000] [--tells 200000]``.
A benchmark, not a test: it prints numbers (and ``--json`` for machines); nothing asserts.
Each memory point runs in a fresh subprocess so RSS deltas do not mix.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

import attrs
import trio

from gnomon.runtime import ActorContext, ChildSpec, Request, Restart, Strategy, Supervisor


@attrs.frozen(kw_only=True)
class Echo(Request[int]):
    n: int


async def echo(ctx: ActorContext[Any]) -> None:
    async for msg in ctx.inbox:
        if isinstance(msg, Echo):
            msg.reply.send(msg.n)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def bench_ask(count: int) -> dict[str, float]:
    async with trio.open_nursery() as nursery:
        sup = await nursery.start(Supervisor("bench", children=[ChildSpec(id="e", start=echo)]).run)
        ref = sup.ref("e")
        assert ref is not None
        for i in range(1000):  # warm-up
            await ref.ask(Echo(n=i))
        samples = []
        for i in range(count):
            t0 = time.perf_counter_ns()
            await ref.ask(Echo(n=i))
            samples.append((time.perf_counter_ns() - t0) / 1000)
        await sup.stop()
    samples.sort()
    return {
        "ask_p50_us": statistics.median(samples),
        "ask_p99_us": samples[int(len(samples) * 0.99)],
        "ask_per_s": count / (sum(samples) / 1e6),
    }


async def bench_tell(count: int) -> dict[str, float]:
    done = trio.Event()
    seen = 0

    async def counter(ctx: ActorContext[Any]) -> None:
        nonlocal seen
        async for _ in ctx.inbox:
            seen += 1
            if seen == count:
                done.set()

    async with trio.open_nursery() as nursery:
        spec = ChildSpec(id="c", start=counter, mailbox_size=64)
        sup = await nursery.start(Supervisor("bench", children=[spec]).run)
        ref = sup.ref("c")
        assert ref is not None
        t0 = time.perf_counter()
        for i in range(count):
            await ref.tell(i)
        await done.wait()
        elapsed = time.perf_counter() - t0
        await sup.stop()
    return {"tell_per_s": count / elapsed}


async def bench_memory(actors: int) -> dict[str, float]:
    async with trio.open_nursery() as nursery:
        sup = await nursery.start(Supervisor("mem", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
        gc.collect()
        before = rss_bytes()
        t0 = time.perf_counter()
        for i in range(actors):
            await sup.start_child(
                ChildSpec(
                    id=str(i),
                    start=echo,
                    restart=Restart.TRANSIENT,
                    mailbox_size=16,
                    register=False,
                )
            )
        spawn_s = time.perf_counter() - t0
        gc.collect()
        delta = rss_bytes() - before
        t0 = time.perf_counter()
        await sup.stop()
        stop_s = time.perf_counter() - t0
    return {
        "actors": actors,
        "rss_delta_mib": delta / 2**20,
        "bytes_per_actor": delta / actors,
        "spawn_per_s": actors / spawn_s,
        "stop_s": stop_s,
    }


def memory_point(actors: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(actors)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actors", default="1,1000,100000")
    parser.add_argument("--asks", type=int, default=20000)
    parser.add_argument("--tells", type=int, default=200000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        print(json.dumps(trio.run(bench_memory, args.memory_child)))
        return
    report: dict[str, Any] = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, trio {trio.__version__}"
        ),
        **trio.run(bench_ask, args.asks),
        **trio.run(bench_tell, args.tells),
        "memory": [memory_point(int(n)) for n in args.actors.split(",")],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"machine            {report['machine']}")
    print(
        f"ask round trip     p50 {report['ask_p50_us']:.1f} µs   "
        f"p99 {report['ask_p99_us']:.1f} µs   ({report['ask_per_s']:,.0f}/s)"
    )
    print(f"tell throughput    {report['tell_per_s']:,.0f} msgs/s")
    for m in report["memory"]:
        print(
            f"idle actors {m['actors']:>7}: RSS +{m['rss_delta_mib']:.1f} MiB "
            f"({m['bytes_per_actor']:,.0f} B/actor), spawn {m['spawn_per_s']:,.0f}/s, "
            f"stop {m['stop_s']:.2f} s"
        )


if __name__ == "__main__":
    main()
