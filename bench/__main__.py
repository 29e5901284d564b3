"""``python -m bench``: every workload against gnomon, raw trio and APScheduler 3 and 4.

Creates the peers' virtualenvs under ``bench/out/venvs`` from the package index (pip as
configured), runs each measurement in a fresh process, saves the raw results to
``bench/out/results.json`` and regenerates the suite's part of ``docs/performance.md``
(with PNG plots under ``docs/img/`` when matplotlib installs) — or, when that part holds
sections written by hand, writes ``bench/out/suite.md`` instead and leaves the page alone.
``--quick`` uses small sizes for development; ``--only W1,W4`` limits the workloads;
``--report-only`` re-renders the last results. A benchmark, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs

from bench import plan, report

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENVS = OUT / "venvs"
PEERS = ROOT / "bench" / "peers"
REQUIREMENTS = {
    "aps3": ["apscheduler>=3.11,<4", "sqlalchemy>=2"],
    "aps4": ["apscheduler==4.0.0a6", "sqlalchemy>=2", "aiosqlite", "greenlet", "trio"],
    "plot": ["matplotlib"],
}


def venv(name: str) -> Path | None:
    """The python of virtualenv ``name``, created and filled on first use; None if pip fails."""
    python = VENVS / name / "bin" / "python"
    stamp = VENVS / name / ".installed"
    if stamp.exists():
        return python
    print(f"bench: creating virtualenv {name} ({' '.join(REQUIREMENTS[name])})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENVS / name)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS[name]]
    proc = subprocess.run(pip, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"bench: could not install {name}; its runs are skipped", flush=True)
        print(proc.stderr[-1000:], flush=True)
        return None
    stamp.write_text("ok\n")
    return python


def execute(run: plan.Run) -> dict[str, Any]:
    """Run one measurement in its own process; its RESULT line, or an error record."""
    python: Path | None = Path(sys.executable)
    cwd = ROOT
    if run.venv is not None:
        python = venv(run.venv)
        cwd = PEERS
    base = {"system": run.system, "store": run.store, "workload": run.workload}
    if python is None:
        return {**base, "error": "virtualenv could not be installed"}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [str(python), *run.argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=run.timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {**base, "error": f"no result within {run.timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {**base, "error": f"exit {proc.returncode}: {' | '.join(tail)}"}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    result.setdefault("wall_s", time.perf_counter() - started)
    return result


def gnomon_only(s: plan.Sizes, workloads: tuple[str, ...]) -> list[plan.Run]:
    out = []
    if "W5" in workloads:
        argv = (
            "-m",
            "bench.wl_daemon",
            "W5",
            "--creates",
            str(s.w5_creates),
            "--restart",
            str(s.w5_restart),
        )
        out.append(plan.Run("gnomon", "sqlite", "W5", argv, timeout=1200))
    if "E2E" in workloads:
        argv = ("-m", "bench.wl_daemon", "E2E", "--n", str(s.e2e))
        out.append(plan.Run("gnomon", "sqlite", "E2E", argv))
    if "SUBS" in workloads:
        argv = ("-m", "bench.wl_fanout", "--subscribers", str(s.subscribers), "--n", str(s.w1))
        out.append(plan.Run("gnomon", "sqlite", "SUBS", argv, timeout=1200))
    if "CRON" in workloads:
        minutes = str(s.cron_minutes)
        argv = ("-m", "bench.wl_gnomon", "CRON", "--n", str(s.cron), "--minutes", minutes)
        out.append(plan.Run("gnomon", "sqlite", "CRON", argv, timeout=1200))
    return out


def machine() -> dict[str, Any]:
    import sqlite3

    import trio

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "trio": trio.__version__,
        "sqlite": sqlite3.sqlite_version,
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, for development")
    p.add_argument(
        "--only", default="W1,W2,W3,W4,W5,E2E,SUBS,CRON", help="workloads, comma-separated"
    )
    p.add_argument("--no-peers", action="store_true", help="skip APScheduler")
    p.add_argument("--report-only", action="store_true", help="re-render the last results")
    p.add_argument("--no-report", action="store_true", help="do not touch docs/")
    a = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results_path = OUT / ("results-quick.json" if a.quick else "results.json")
    if a.report_only:
        data = json.loads(results_path.read_text())
    else:
        sizes = plan.QUICK if a.quick else plan.FULL
        workloads = tuple(w.strip() for w in a.only.split(",") if w.strip())
        todo = plan.runs(sizes, workloads) + gnomon_only(sizes, workloads)
        if a.no_peers:
            todo = [r for r in todo if r.venv is None]
        started = time.perf_counter()
        results = []
        for i, run in enumerate(todo, 1):
            print(
                f"bench: [{i}/{len(todo)}] {run.workload} {run.system} ({run.store}) …",
                end=" ",
                flush=True,
            )
            res = execute(run)
            results.append(res)
            print(report.one_line(res), flush=True)
        data = {
            "machine": machine(),
            "quick": a.quick,
            "sizes": vars_of(sizes),
            "elapsed_s": time.perf_counter() - started,
            "results": results,
        }
        results_path.write_text(json.dumps(data, indent=1))
    if a.no_report:
        return
    plots = make_plots(results_path)
    fallback = OUT / "suite.md"
    kept = report.write(ROOT / "docs" / "performance.md", data, plots, fallback=fallback)
    if kept:  # the suite's part of the page holds sections written by hand
        print(
            f"bench: docs/performance.md has {len(kept)} section(s) after the suite's heading"
            f" that the report does not write (first: {kept[0]!r}); left it alone and wrote"
            f" {fallback.relative_to(ROOT)} ({len(plots)} plots): merge by hand"
        )
        return
    print(f"bench: wrote docs/performance.md ({len(plots)} plots)")


def vars_of(s: plan.Sizes) -> dict[str, Any]:
    return {f.name: getattr(s, f.name) for f in attrs.fields(plan.Sizes)}


def make_plots(results_path: Path) -> list[str]:
    """PNG plots in docs/img via the plot virtualenv's matplotlib; their names."""
    python = venv("plot")
    if python is None:
        return []
    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(python), str(ROOT / "bench" / "plots.py"), str(results_path), str(img)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"bench: plots failed: {proc.stderr.strip()[-500:]}")
        return []
    return [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().endswith(".png")]


if __name__ == "__main__":
    main()
