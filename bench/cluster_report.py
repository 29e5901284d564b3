"""The pure part of ``python -m bench.cluster``: lateness from stored rows, the metrics of
one workload, and the side-by-side table with ratios against one node.

Standard library only (and ``bench.common``): nothing here starts a process or opens a
database, so ``tests/unit/test_bench_cluster_report.py`` checks it on plain values.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bench.common import lateness_stats, storm_result

#: Partitions of a cluster database (runtime/cluster/core.py; fixed at its first start).
PARTITIONS = 64
#: The configurations of one run, in the table's column order.
COLUMNS = ("sqlite", "pg-1", "pg-2", "pg-3")
HEADS = {
    "sqlite": "SQLite, 1 daemon",
    "pg-1": "PostgreSQL, 1 node",
    "pg-2": "PostgreSQL, 2 nodes",
    "pg-3": "PostgreSQL, 3 nodes",
}
#: The baseline of the ratios.
BASE = "pg-1"
#: (label, workload, field) of every row, in order.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("partitions held per node", "", "split"),
    ("W1: jobs created before the slot", "w1", "created_before_due"),
    ("W1: creates/s (`job.create_many`, round-robin)", "w1", "creates_per_s"),
    ("W1: fires/s (`job.fired`: N over the last one's lateness)", "w1", "fires_per_s"),
    ("W1: p50 late (ms, `job.fired`)", "w1", "late_p50_ms"),
    ("W1: p99 late (ms, `job.fired`)", "w1", "late_p99_ms"),
    ("W1: all fired (s after the slot, `job.fired`)", "w1", "all_fired_s"),
    ("W1: claims committed/s (N over the last one's lateness)", "w1", "claims_per_s"),
    ("W1: p50 claim committed (ms after the slot)", "w1", "claim_p50_ms"),
    ("W1: p99 claim committed (ms after the slot)", "w1", "claim_p99_ms"),
    ("W1: all claims committed (s after the slot)", "w1", "all_claimed_s"),
    ("W1: fires per node (by partition owner)", "w1", "per_node"),
    ("W1: daemons' CPU per fire, all nodes (µs)", "w1", "cpu_us_per_fire"),
    ("W2: fired", "w2", "fired"),
    ("W2: p50 late (ms, `job.fired`)", "w2", "late_p50_ms"),
    ("W2: p99 late (ms, `job.fired`)", "w2", "late_p99_ms"),
    ("W2: max late (ms, `job.fired`)", "w2", "late_max_ms"),
    ("W2: p99 claim committed (ms after the slot)", "w2", "claim_p99_ms"),
    ("W2: daemons' CPU per fire, all nodes (µs)", "w2", "cpu_us_per_fire"),
    ("load average (1 min) at the start", "", "load_start"),
)


def is_even(held: dict[str, int], count: int) -> bool:
    """``count`` live nodes hold every partition, none above its fair share and none
    more than a share's rounding below it (64 over 3: 22, 22, 20 at worst)."""
    share = math.ceil(PARTITIONS / count)
    values = list(held.values())
    return (
        len(values) == count
        and sum(values) == PARTITIONS
        and max(values) <= share
        and min(values) >= PARTITIONS - (count - 1) * share
    )


def slot_time(iso: str) -> float:
    """The epoch seconds of a slot as stored (ISO-8601 with its offset)."""
    return datetime.fromisoformat(iso).timestamp()


def lateness(rows: Iterable[tuple[float, str]]) -> list[float]:
    """Seconds late of each ``(when, slot ISO)`` pair (early counts as 0)."""
    return [max(0.0, when - slot_time(slot)) for when, slot in rows]


def storm_metrics(
    due: float, fired: Sequence[float], claimed: Sequence[float], n: int
) -> dict[str, Any]:
    """W1 against the one slot ``due``: fires/s and lateness from the ``job.fired``
    timestamps (the engine's decision), and the same from the claims' commit times
    (``fires.claimed_ts``: when each fire became durable and its action could start)."""
    out = {k: v for k, v in storm_result(due, fired, n).items() if k != "samples"}
    claims = storm_result(due, claimed, n)
    out.update(
        all_claimed_s=claims["all_fired_s"],
        claims_per_s=claims["fires_per_s"],
        claim_p50_ms=claims["late_p50_ms"],
        claim_p99_ms=claims["late_p99_ms"],
    )
    return out


def spread_metrics(fired: Sequence[float], claimed: Sequence[float], n: int) -> dict[str, Any]:
    """W2: lateness of each fire (``job.fired``) and of each claim's commit, seconds in."""
    claim_p99 = lateness_stats(claimed)["late_p99_ms"]
    return {"fired": len(fired), "expected": n, **lateness_stats(fired), "claim_p99_ms": claim_p99}


def median_of(runs: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One result per configuration from several runs: every number (top level or in a
    workload's record) the median over the runs that have it, a flag true only if true in
    every run, anything else as in the first run that has the configuration."""
    out: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys(k for run in runs for k in run):
        each = [run[key] for run in runs if key in run]
        out[key] = _median_record(each)
    return out


def _median_record(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name, first in records[0].items():
        values = [r[name] for r in records if name in r]
        if isinstance(first, Mapping) and name in ("w1", "w2"):
            merged[name] = _median_record(values)
        elif all(isinstance(v, bool) for v in values):
            merged[name] = all(values)
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            numbers = [v for v in values if not math.isnan(v)]
            merged[name] = statistics.median(numbers) if numbers else math.nan
        else:
            merged[name] = first
    return merged


def cell(value: Any) -> str:
    """One number as the table shows it: thousands separated, 3 significant digits."""
    if not value and isinstance(value, Mapping):
        return "—"
    if isinstance(value, Mapping):
        return " / ".join(cell(v) for _, v in sorted(value.items()))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def ratio(value: Any, base: Any) -> str:
    """`` (×r)``: ``value`` over ``base``, when both are positive numbers."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, base))
    if not numbers or not base > 0 or math.isnan(value) or math.isnan(base):
        return ""
    return f" (×{value / base:.2f})"


def field(result: Mapping[str, Any], workload: str, name: str) -> Any:
    part = result.get(workload, {}) if workload else result
    return part.get(name) if isinstance(part, Mapping) else None


def table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The Markdown table: a row per metric, a column per configuration present in
    ``results`` (keys of :data:`COLUMNS`); the PostgreSQL columns carry the ratio of
    their value over the 1-node value (for lateness, above 1 is worse)."""
    cols = [c for c in COLUMNS if c in results]
    lines = ["| measure | " + " | ".join(HEADS[c] for c in cols) + " |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    for label, workload, name in ROWS:
        base = field(results.get(BASE, {}), workload, name)
        cells = []
        for c in cols:
            value = field(results[c], workload, name)
            scaled = c.startswith("pg-") and c != BASE and name != "load_start"
            cells.append(cell(value) + (ratio(value, base) if scaled else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
