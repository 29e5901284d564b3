"""Store benchmark, the sections on one fire's units: the store thread's CPU per fire unit
and end unit (``sql.commit_batch`` direct), and the urgent lane's latency under a flood
(part of ``python -m bench.store``; see :mod:`bench.store`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import trio

from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.enums import JobStatus, Outcome, OwnerKind
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import FirePhase, FireState, JobState, RunRecord, Transition
from gnomon.runtime.store import Changes, sql
from gnomon.runtime.store import writer as writer_module
from gnomon.runtime.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
OWNER = Owner(kind=OwnerKind.USER, id="bench")


def job(i: int) -> JobState:
    """A realistic job row: an every-minute shell job with tags."""
    spec = JobSpec(
        name=f"bench-{i}",
        schedule=IntervalSchedule(every=60.0, anchor=T0),
        action=ShellAction(command=f"./backup.sh --target host-{i}"),
        tags={"env": "prod", "team": "infra"},
    )
    return JobState(
        id=f"{i:016x}",
        spec=spec,
        owner=OWNER,
        created_at=T0,
        updated_at=T0,
        status=JobStatus.PENDING,
        next_fire_at=T0 + timedelta(seconds=60),
    )


# -- the store thread's CPU per unit of a fire ------------------------------------------


#: Jobs and transition histories already built, when units reuse them (``held``).
_HELD: dict[tuple[int, int], tuple[JobState, tuple[Transition, ...]]] = {}


def _history(transitions: int) -> tuple[Transition, ...]:
    steps = (JobStatus.PENDING, JobStatus.RUNNING)
    return tuple(
        Transition(
            at=T0 + timedelta(minutes=k),
            from_status=steps[k % 2],
            to_status=steps[(k + 1) % 2],
            reason=f"fire {k}: slot {T0.isoformat()}",
        )
        for k in range(transitions)
    )


def fire_states(
    i: int, cycle: int, transitions: int, held: bool = False
) -> tuple[datetime, JobState, JobState]:
    """Job ``i`` at fire ``cycle``: its slot, its state running it and its state after.
    ``held``: the job's spec and transitions are the objects of its earlier units (a job
    its engine holds between saves), else new ones (the first save after a load)."""
    if held:
        base, history = _HELD.setdefault((i, transitions), (job(i), _history(transitions)))
    else:
        base, history = job(i), _history(transitions)
    slot = T0 + timedelta(minutes=cycle)
    fire = FireState(
        fire_time=slot, cycle=cycle, phase=FirePhase.RUNNING, attempt=1, runs=1,
        run_id=f"{base.id}.{cycle}.1",
    )  # fmt: skip
    running = attrs.evolve(
        base, status=JobStatus.RUNNING, cycle=cycle, fires=(fire,), attempts=1,
        transitions=history, message="running the action", updated_at=slot,
        next_fire_at=slot + timedelta(minutes=1),
    )  # fmt: skip
    pending = attrs.evolve(
        running, status=JobStatus.PENDING, fires=(), last_outcome=Outcome.SUCCESS,
        message="run succeeded",
    )  # fmt: skip
    return slot, running, pending


def step_event(
    kind: EventType, state: JobState, slot: datetime, cycle: int, **extra: Any
) -> EventDraft:
    return EventDraft(
        type=kind, timestamp=slot, job_id=state.id, name=state.spec.name, owner=str(state.owner),
        status=state.status, message=state.message,
        payload={"fire_time": slot.isoformat(), "cycle": cycle, **extra},
    )  # fmt: skip


def fire_unit(i: int, cycle: int, transitions: int = 16, held: bool = False) -> Changes:
    """A fire's first unit: the claim, the running state, ``job.fired`` and ``job.running``."""
    slot, running, _ = fire_states(i, cycle, transitions, held)
    run_id = f"{running.id}.{cycle}.1"
    return Changes(
        jobs=(running,),
        claims=((running.id, slot),),
        events=(
            step_event(EventType.JOB_FIRED, running, slot, cycle),
            step_event(EventType.JOB_RUNNING, running, slot, cycle, run_id=run_id, attempt=1),
        ),
    )


def end_unit(i: int, cycle: int, transitions: int = 16, held: bool = False) -> Changes:
    """A fire's last unit: the state after, the finished run and ``job.completed``."""
    slot, _, pending = fire_states(i, cycle, transitions, held)
    run = RunRecord(
        run_id=f"{pending.id}.{cycle}.1", job_id=pending.id, cycle=cycle, attempt=1,
        fire_time=slot, started_at=slot, finished_at=slot + timedelta(seconds=1),
        outcome=Outcome.SUCCESS, exit_code=0, output="done\n", pid=4242, pgid=4242,
        proc_start=123456, host_boot="3f1c-boot",
    )  # fmt: skip
    completed = step_event(EventType.JOB_COMPLETED, pending, slot, cycle, run_id=run.run_id)
    return Changes(jobs=(pending,), runs=(run,), events=(completed,))


def bench_units(path: Path, transitions: int, rounds: int = 20, per: int = 256) -> dict[str, float]:
    """µs of ``sql.commit_batch`` per unit (this thread's CPU time), batches of ``per``
    fire units then ``per`` end units of the same jobs, ``rounds`` times (the median after
    two warm-up rounds); the ``held_`` ones reuse each job's spec and transitions objects,
    as a job's engine does between its saves (the others build them anew, as after a
    load)."""
    conn = sql.connect(str(path))
    chain = sql.load_chain(conn)
    spent: dict[str, list[float]] = {"fire": [], "end": [], "held_fire": [], "held_end": []}
    try:
        for cycle in range(1, rounds + 1):
            for held in (False, True):
                for kind, make in (("fire", fire_unit), ("end", end_unit)):
                    units = [make(i + held * per, cycle, transitions, held) for i in range(per)]
                    started = time.thread_time()
                    sql.commit_batch(conn, units, chain, "bench", lambda point: None)
                    key = f"held_{kind}" if held else kind
                    spent[key].append((time.thread_time() - started) / per * 1e6)
    finally:
        conn.close()
    return {f"{k}_unit_us": sorted(v[2:])[len(v[2:]) // 2] for k, v in spent.items()}


# -- the urgent lane under a flood of ordinary units -------------------------------------


async def lane_round(
    store: SqliteStore, flood: int, probes: int, *, urgent: bool, base: int
) -> tuple[list[float], float]:
    """``flood`` committers of fire units keep the writer's mailbox full (and senders
    parked) while one committer writes ``probes`` end units; returns the end units'
    latencies (sorted) and the flood's units/s."""
    latencies: list[float] = []
    ordinary = 0
    done = trio.Event()

    async def flooder(k: int) -> None:
        nonlocal ordinary
        cycle = 0
        while not done.is_set():
            cycle += 1
            await store.commit(fire_unit(k, cycle, transitions=4))
            ordinary += 1

    async def prober() -> None:
        await trio.sleep(0.5)  # let the flood fill the mailbox
        for n in range(probes):
            started = time.perf_counter()
            await store.commit(end_unit(n, 1, transitions=4), urgent=urgent)
            latencies.append(time.perf_counter() - started)
        done.set()

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for k in range(flood):
            nursery.start_soon(flooder, base + k)
        nursery.start_soon(prober)
    return sorted(latencies), ordinary / (time.perf_counter() - started)


async def bench_lanes(store: SqliteStore, flood: int, probes: int) -> dict[str, float]:
    """The end units' latency under a flood: through the FIFO, and urgent with the
    ordinary units per transaction capped at 64, 128 or 256."""
    report: dict[str, float] = {}
    modes = (("fifo", 0), ("urgent64", 64), ("urgent128", 128), ("urgent256", 256))
    for index, (mode, cap) in enumerate(modes):
        writer_module.URGENT_ORDINARY = cap or 64
        base = 1_000_000 * (index + 1)
        latencies, rate = await lane_round(store, flood, probes, urgent=cap > 0, base=base)
        report[f"{mode}_p50_ms"] = latencies[len(latencies) // 2] * 1000
        report[f"{mode}_p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000
        report[f"{mode}_ordinary_per_s"] = rate
    writer_module.URGENT_ORDINARY = 64
    return report
