"""What ``python -m bench`` runs: every workload against every system, full or quick."""

from __future__ import annotations

import attrs

W3_PEER_SQLITE = 5_000  # a disk store's RSS does not grow with jobs; fewer keep it short
APS4_SQL = 1_000  # APScheduler 4's SQL store fires ~50/s: more would take many minutes


@attrs.frozen
class Sizes:
    w1: int
    w2: int
    w3: int
    w4: int
    w4_duration: float
    w5_creates: int
    w5_restart: int
    e2e: int
    subscribers: int
    cron: int
    cron_minutes: float


FULL = Sizes(
    w1=10_000,
    w2=2_000,
    w3=100_000,
    w4=1_000,
    w4_duration=10.0,
    w5_creates=10_000,
    w5_restart=100_000,
    e2e=50,
    subscribers=100,
    cron=100_000,
    cron_minutes=2.0,
)
QUICK = Sizes(
    w1=2_000,
    w2=500,
    w3=10_000,
    w4=200,
    w4_duration=3.0,
    w5_creates=1_000,
    w5_restart=10_000,
    e2e=10,
    subscribers=10,
    cron=5_000,
    cron_minutes=1.0,
)


@attrs.frozen
class Run:
    """One measurement: a system on a workload, as a command line."""

    system: str  # gnomon, trio-heap, trio-heap-sqlite, trio-tasks, apscheduler3, apscheduler4
    store: str
    workload: str
    argv: tuple[str, ...]
    venv: str | None = None  # None: this interpreter; else a peer virtualenv's name
    timeout: float = 600.0


def args_for(
    workload: str, s: Sizes, *, peer_sqlite: bool = False, cap: int | None = None
) -> tuple[str, ...]:
    if workload == "W1":
        return ("W1", "--n", str(min(s.w1, cap or s.w1)))
    if workload == "W2":
        return ("W2", "--n", str(min(s.w2, cap or s.w2)), "--spread", "5")
    if workload == "W3":
        n = min(s.w3, W3_PEER_SQLITE) if peer_sqlite else s.w3
        return ("W3", "--n", str(n))
    return ("W4", "--n", str(s.w4), "--every", "0.1", "--duration", str(s.w4_duration))


def runs(s: Sizes, workloads: tuple[str, ...]) -> list[Run]:
    out: list[Run] = []
    for w in workloads:
        if w not in ("W1", "W2", "W3", "W4"):
            continue
        base = args_for(w, s)
        out.append(Run("gnomon", "sqlite", w, ("-m", "bench.wl_gnomon", *base)))
        for variant in ("heap", "heap-sqlite", "tasks"):
            if w == "W3" and variant == "heap-sqlite":
                continue  # same heap; its claims table is on disk
            store = "sqlite" if variant == "heap-sqlite" else "memory"
            argv = ("-m", "bench.wl_trio", *base, "--variant", variant)
            out.append(Run(f"trio-{variant}", store, w, argv))
        for store in ("memory", "sqlite"):
            peer = args_for(w, s, peer_sqlite=store == "sqlite")
            # APScheduler 3's SQL store blocks the event loop: its W4 can stall for minutes.
            limit = 240.0 if (w, store) == ("W4", "sqlite") else 600.0
            argv = ("aps3.py", *peer, "--store", store)
            out.append(Run("apscheduler3", store, w, argv, venv="aps3", timeout=limit))
            backends = ("trio",) if store == "memory" else ("trio", "asyncio")
            for backend in backends:
                if store == "sqlite":
                    peer = args_for(w, s, peer_sqlite=True, cap=APS4_SQL)
                argv = ("aps4.py", *peer, "--store", store, "--backend", backend)
                out.append(Run("apscheduler4", store, w, argv, venv="aps4"))
    return out
