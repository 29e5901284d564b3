"""Kernel shapes for a storm: a task per actor, dispatcher-served actors, a batch loop.

Run: ``python -m bench.kernel_shapes [--n 10000] [--rounds 3] [--json]``.

Issue 18 item 0 asks whether actors can be made cheap enough that a storm is stepped by
the jobs' own actors (as Akka and Orleans serve many actors' mailboxes from a few
dispatcher tasks) instead of by a batch firer beside them. This benchmark isolates what
the *kernel* costs per fire, with the same work per fire on every shape, so the choice
does not hinge on the store or the state machine (those are measured by
``bench.storm``). A fire here is the job's round trip through the engine:

1. a ``Fire`` message reaches the job (its slot is due);
2. the job steps (``step``: a real next-slot computation with gnomon's schedule code and
   the canonical JSON of an event — a stand-in of fixed cost for the state machine);
3. its unit goes to the writer, which "commits" units in chunks of ``--chunk``
   (no database: the chunk is handed back at once, so only the kernel's cost remains);
4. the commit's answer reaches the job, which performs its effect (a counter).

Shapes:

- ``task_actor`` — today's kernel: the directory starts the job's actor with
  ``Supervisor.start_child_soon`` (a trio task, a memory-channel mailbox, a cancel scope
  under the supervisor), sends it ``Fire``; the actor awaits its commit's answer on a
  reply channel, performs the effect and ends (passivates).
- ``dispatched`` — a prototype of cheap actors: an actor is a mailbox (a deque) and
  state; sending to an idle actor puts it on a run queue served by ``--dispatchers``
  tasks; a handler never awaits (the commit's answer is a message, like any other), a
  crash in a handler is caught by the dispatcher and handed to a restart policy
  (one-for-one, restart from the last committed state). No task, channel or cancel scope
  per actor.
- ``batch`` — the batch firer's shape: the due jobs are stepped in a loop and their units
  committed a chunk at a time; effects run as each chunk's answer arrives.

Prints µs of CPU per fire (the process's CPU time over the storm, the step's own cost
shown apart) and bytes per idle actor for the two actor shapes (traced Python
allocations). Nothing asserts: results are in docs/engine.md ("Why batches, and not
cheaper actors").
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import trio

from gnomon.runtime import ActorContext, ChildSpec, Restart, Strategy, Supervisor
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.model.schedule import CronSchedule

SCHEDULE = CronSchedule(expr="*/5 * * * *", tz="UTC")
BASE = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


#: ``--step none``: no work per fire, so the figures are the kernel's alone.
REAL_STEP = True


def step(job: int) -> bytes:
    """The fixed work of one fire (same on every shape): the next slot after the fire and
    the event's canonical JSON (``--step none``: only the JSON)."""
    after = next_fire(SCHEDULE, BASE) if REAL_STEP else None
    event: dict[str, str | None] = {
        "type": "job.fired",
        "job": f"job{job:05d}",
        "fire_time": BASE.isoformat(),
    }
    event["next"] = None if after is None else after.isoformat()
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


@attrs.define
class Writer:
    """Collects units and answers them a chunk at a time (no database)."""

    chunk: int
    pending: list[tuple[bytes, Callable[[], None]]] = attrs.field(factory=list)
    wake: trio.Event = attrs.field(factory=trio.Event)
    commits: int = 0

    def submit(self, unit: bytes, answer: Callable[[], None]) -> None:
        self.pending.append((unit, answer))
        self.wake.set()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake = trio.Event()
            while self.pending:
                chunk, self.pending = self.pending[: self.chunk], self.pending[self.chunk :]
                self.commits += 1
                for _, answer in chunk:
                    answer()
                await trio.lowlevel.checkpoint()


# -- today's kernel: a task per actor ----------------------------------------------------


@attrs.frozen
class Fire:
    job: int


async def task_actor_storm(n: int, chunk: int) -> int:
    done = trio.Event()
    fired = 0
    writer = Writer(chunk)

    async def job_actor(ctx: ActorContext[Any]) -> None:
        nonlocal fired
        async for msg in ctx.inbox:
            unit = step(msg.job)
            send, receive = trio.open_memory_channel[None](1)
            writer.submit(unit, functools.partial(send.send_nowait, None))
            await receive.receive()
            fired += 1
            if fired == n:
                done.set()
            return  # passivate: the actor ends once its fire is committed

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        sup = await nursery.start(Supervisor("jobs", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
        for i in range(n):
            spec = ChildSpec(id=str(i), start=job_actor, restart=Restart.TRANSIENT, mailbox_size=16)
            ref = sup.start_child_soon(spec)
            ref.try_tell(Fire(i))
        await done.wait()
        await sup.stop()
        nursery.cancel_scope.cancel()
    return writer.commits


# -- a prototype of cheap actors: mailboxes served by dispatcher tasks -------------------


@attrs.define(eq=False)
class Cell:
    """A dispatcher-served actor: a mailbox and state, no task of its own."""

    key: int
    handler: Callable[[Cell, Any], None]
    mailbox: deque[Any] = attrs.field(factory=deque)
    queued: bool = False
    restarts: int = 0


@attrs.define
class Dispatch:
    """Run queue and dispatchers. A handler never awaits; a crash restarts the cell
    (one-for-one: its mailbox is kept, its state reloaded by the handler's owner)."""

    batch: int = 64
    ready: deque[Cell] = attrs.field(factory=deque)
    wake: trio.Event = attrs.field(factory=trio.Event)

    def tell(self, cell: Cell, msg: Any) -> None:
        cell.mailbox.append(msg)
        if not cell.queued:
            cell.queued = True
            self.ready.append(cell)
            self.wake.set()

    async def serve(self) -> None:
        while True:
            if not self.ready:
                await self.wake.wait()
                self.wake = trio.Event()
                continue
            for _ in range(min(self.batch, len(self.ready))):
                cell = self.ready.popleft()
                cell.queued = False
                while cell.mailbox:
                    msg = cell.mailbox.popleft()
                    try:
                        cell.handler(cell, msg)
                    except Exception:  # the supervisor's decision: restart the cell
                        cell.restarts += 1
            await trio.lowlevel.checkpoint()


@attrs.frozen
class Committed:
    pass


async def dispatched_storm(n: int, chunk: int, dispatchers: int) -> int:
    done = trio.Event()
    fired = 0
    writer = Writer(chunk)
    dispatch = Dispatch()

    def handle(cell: Cell, msg: Any) -> None:
        nonlocal fired
        if isinstance(msg, Fire):
            writer.submit(step(msg.job), lambda: dispatch.tell(cell, Committed()))
        else:
            fired += 1
            if fired == n:
                done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        for _ in range(dispatchers):
            nursery.start_soon(dispatch.serve)
        for i in range(n):
            dispatch.tell(Cell(i, handle), Fire(i))
        await done.wait()
        nursery.cancel_scope.cancel()
    return writer.commits


# -- the batch firer's shape ---------------------------------------------------------------


async def batch_storm(n: int, chunk: int) -> int:
    done = trio.Event()
    fired = 0
    writer = Writer(chunk)

    def effect() -> None:
        nonlocal fired
        fired += 1
        if fired == n:
            done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        for start in range(0, n, chunk):
            for i in range(start, min(start + chunk, n)):
                writer.submit(step(i), effect)
            await trio.lowlevel.checkpoint()
        await done.wait()
        nursery.cancel_scope.cancel()
    return writer.commits


# -- measuring -----------------------------------------------------------------------------


def cpu_us_per_fire(run: Callable[[], int], n: int) -> tuple[float, int]:
    gc.collect()
    t0 = time.process_time()
    commits = run()
    return (time.process_time() - t0) * 1e6 / n, commits


def step_us(n: int) -> float:
    t0 = time.process_time()
    for i in range(n):
        step(i)
    return (time.process_time() - t0) * 1e6 / n


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def idle_task_actors(n: int) -> float:
    async def idle(ctx: ActorContext[Any]) -> None:
        async for _ in ctx.inbox:
            pass

    async with trio.open_nursery() as nursery:
        sup = await nursery.start(Supervisor("m", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
        before = traced()
        for i in range(n):
            sup.start_child_soon(ChildSpec(id=str(i), start=idle, mailbox_size=16))
        await trio.sleep(0.1)
        size = (traced() - before) / n
        await sup.stop()
    return size


def idle_cells(n: int) -> float:
    before = traced()
    cells = [Cell(i, lambda c, m: None) for i in range(n)]
    size = (traced() - before) / n
    del cells
    return size


def measure(n: int, rounds: int, chunk: int, dispatchers: int) -> dict[str, Any]:
    shapes: dict[str, Callable[[], int]] = {
        "task_actor": lambda: trio.run(task_actor_storm, n, chunk),
        "dispatched": lambda: trio.run(dispatched_storm, n, chunk, dispatchers),
        "batch": lambda: trio.run(batch_storm, n, chunk),
    }
    samples: dict[str, list[float]] = {name: [] for name in shapes}
    commits: dict[str, int] = {}
    steps = []
    for _ in range(rounds):  # interleaved: the machine's noise hits every shape alike
        steps.append(step_us(n))
        for name, run in shapes.items():
            us, commits[name] = cpu_us_per_fire(run, n)
            samples[name].append(us)
    tracemalloc.start()
    idle_bytes = {
        "task_actor": trio.run(idle_task_actors, min(n, 10_000)),
        "dispatched": idle_cells(min(n, 10_000)),
    }
    tracemalloc.stop()
    return {
        "n": n,
        "chunk": chunk,
        "dispatchers": dispatchers,
        "step_us": statistics.median(steps),
        "us_per_fire": {k: statistics.median(v) for k, v in samples.items()},
        "commits": commits,
        "step": "real" if REAL_STEP else "none",
        "idle_bytes": idle_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--dispatchers", type=int, default=4)
    parser.add_argument("--step", choices=["real", "none"], default="real")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global REAL_STEP
    REAL_STEP = args.step == "real"
    report = measure(args.n, args.rounds, args.chunk, args.dispatchers)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    step_cost = report["step_us"]
    print(f"{args.n} fires, chunk {args.chunk}; the step alone: {step_cost:.1f} µs")
    for name, us in report["us_per_fire"].items():
        print(
            f"{name:<11} {us:7.1f} µs/fire  kernel {us - step_cost:6.1f} µs  "
            f"commits {report['commits'][name]}"
        )
    for name, size in report["idle_bytes"].items():
        print(f"idle {name:<11} {size:,.0f} bytes/actor")


if __name__ == "__main__":
    main()
