"""Shared pieces of the benchmark suite: lateness statistics, RSS, result records.

Every workload module returns :class:`Result` values (plain JSON once dumped), so the
peers' scripts — which run in their own virtualenvs and cannot import gnomon — produce the
same shape with the same helpers (this module imports nothing but the standard library).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

SAMPLES = 400  # lateness samples kept per result for the plots


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by nearest rank; ``nan`` when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def lateness_stats(lates: Sequence[float]) -> dict[str, float]:
    """p50/p99/max of lateness samples (seconds in, milliseconds out)."""
    return {
        "late_p50_ms": percentile(lates, 50) * 1000,
        "late_p99_ms": percentile(lates, 99) * 1000,
        "late_max_ms": (max(lates) * 1000) if lates else float("nan"),
    }


def sample(values: Sequence[float], k: int = SAMPLES) -> list[float]:
    """An evenly spaced sample of the sorted values (for distribution plots)."""
    ordered = sorted(values)
    if len(ordered) <= k:
        return ordered
    step = (len(ordered) - 1) / (k - 1)
    return [ordered[round(i * step)] for i in range(k)]


def storm_result(due: float, fired: Sequence[float], n: int) -> dict[str, Any]:
    """Metrics of a fire storm: ``fired`` are the clock times at which each job fired."""
    lates = [max(0.0, t - due) for t in fired]
    span = (max(fired) - due) if fired else float("nan")
    return {
        "fired": len(fired),
        "expected": n,
        "all_fired_s": span,
        "fires_per_s": len(fired) / span if fired and span > 0 else float("nan"),
        **lateness_stats(lates),
        "samples": sample(lates),
    }


def rss_bytes() -> int:
    """Resident set size of this process (``/proc/self/statm``), after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def memory_result(before: int, after: int, n: int) -> dict[str, Any]:
    return {
        "jobs": n,
        "rss_delta_mib": (after - before) / 2**20,
        "bytes_per_job": (after - before) / n,
    }


def emit(result: dict[str, Any]) -> None:
    """Print one result as a JSON line on stdout (how child processes report)."""
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()


def now() -> float:
    """The wall clock every system's lateness is measured against."""
    return time.time()
