"""The pure part of ``python -m bench.cluster`` (bench/cluster_report.py): lateness from
stored rows, the workloads' metrics, the even-split rule and the side-by-side table."""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rep(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is not installed, it sits beside tests/
    return importlib.import_module("bench.cluster_report")


def test_lateness_reads_the_slot_with_its_offset_and_counts_early_as_zero(rep: ModuleType) -> None:
    slot = "2026-12-04T10:00:00+00:00"
    at = rep.slot_time(slot)
    assert rep.slot_time("2026-12-04T11:00:00+01:00") == at
    assert rep.lateness([(at + 0.25, slot), (at - 1, slot)]) == [0.25, 0.0]


def test_storm_metrics_measure_against_the_one_slot(rep: ModuleType) -> None:
    out = rep.storm_metrics(100.0, [100.5, 101.0, 102.0], [101.0, 103.5], 3)
    assert (out["fired"], out["expected"]) == (3, 3)
    assert out["fires_per_s"] == 1.5  # three fires, the last 2 s after the slot
    assert (out["all_fired_s"], out["all_claimed_s"]) == (2.0, 3.5)
    assert out["late_p50_ms"] == 1000.0
    assert out["claims_per_s"] == 2 / 3.5  # two of three claimed, the last 3.5 s late
    assert (out["claim_p50_ms"], out["claim_p99_ms"]) == (1000.0, 3500.0)
    assert "samples" not in out
    assert math.isnan(rep.storm_metrics(100.0, [], [], 3)["all_claimed_s"])


def test_spread_metrics_report_fires_and_claims(rep: ModuleType) -> None:
    fired = [i / 1000 for i in range(1, 101)]  # 1 … 100 ms late
    out = rep.spread_metrics(fired, [0.2] * 100, 120)
    assert (out["fired"], out["expected"]) == (100, 120)
    assert out["late_p99_ms"] == pytest.approx(99.0)
    assert out["late_max_ms"] == pytest.approx(100.0)
    assert out["claim_p99_ms"] == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("held", "count", "even"),
    [
        ({"a": 64}, 1, True),
        ({"a": 32, "b": 32}, 2, True),
        ({"a": 22, "b": 21, "c": 21}, 3, True),
        ({"a": 22, "b": 22, "c": 20}, 3, True),
        ({"a": 33, "b": 31}, 2, False),  # above the fair share
        ({"a": 32, "b": 30}, 2, False),  # two partitions free
        ({"a": 32, "b": 32}, 3, False),  # the third node not live yet
        ({"a": 23, "b": 21, "c": 20}, 3, False),
    ],
)
def test_an_even_split(rep: ModuleType, held: dict[str, int], count: int, even: bool) -> None:
    assert rep.is_even(held, count) is even


def test_the_table_puts_configurations_side_by_side_with_ratios_to_one_node(
    rep: ModuleType,
) -> None:
    def result(rate: float, before: bool) -> dict[str, object]:
        w1 = {"fires_per_s": rate, "created_before_due": before, "late_p99_ms": math.nan}
        return {"w1": w1, "w2": {"fired": 10}, "load_start": 2.5, "split": {"b": 30, "a": 34}}

    text = rep.table({"pg-2": result(300.0, False), "pg-1": result(1200.0, True)})
    lines = text.splitlines()
    assert lines[0] == "| measure | PostgreSQL, 1 node | PostgreSQL, 2 nodes |"
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in lines[2:]}
    rate = "W1: fires/s (`job.fired`: N over the last one's lateness)"
    assert rows[rate] == ["1,200", "300 (×0.25) |"]
    assert rows["W1: jobs created before the slot"] == ["yes", "**no** |"]
    assert rows["W1: p99 late (ms, `job.fired`)"] == ["—", "— |"]
    assert rows["W2: fired"] == ["10", "10 (×1.00) |"]
    assert rows["load average (1 min) at the start"] == ["2.5", "2.5 |"]  # no ratio
    assert rows["W2: p50 late (ms, `job.fired`)"] == ["—", "— |"]  # missing values
    assert rows["partitions held per node"] == ["34 / 30", "34 / 30 |"]  # by node name
    assert rows["W1: fires per node (by partition owner)"] == ["—", "— |"]


def test_several_runs_are_combined_by_their_medians(rep: ModuleType) -> None:
    def run(rate: float, before: bool, lag: float) -> dict[str, object]:
        w1 = {"fires_per_s": rate, "created_before_due": before, "late_p99_ms": lag}
        return {"w1": w1, "split": {"n1": 64}, "load_start": rate / 100}

    runs = [
        {"pg-1": run(100.0, True, 5.0), "sqlite": run(7.0, True, 1.0)},
        {"pg-1": run(300.0, False, math.nan)},
        {"pg-1": run(200.0, True, 9.0)},
    ]
    out = rep.median_of(runs)
    assert list(out) == ["pg-1", "sqlite"]
    assert out["pg-1"]["w1"]["fires_per_s"] == 200.0
    assert out["pg-1"]["w1"]["late_p99_ms"] == 7.0  # the runs that have a number
    assert out["pg-1"]["w1"]["created_before_due"] is False  # not in every run
    assert out["pg-1"]["load_start"] == 2.0
    assert out["pg-1"]["split"] == {"n1": 64}
    assert out["sqlite"]["w1"]["fires_per_s"] == 7.0
