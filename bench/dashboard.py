"""The dashboard at scale: time to first rows in headless Chromium, and the calls behind.

A real daemon is filled with ``--jobs`` hourly no-op jobs and twice as many events
(tests/support/bulk_load.py: ``job.create_many``, then each job updated once); then:

- the calls the page makes, timed over a raw WebSocket (median of ``--repeat``):
  ``job.list`` (a page of 50 with its total; the same with a search), ``events.list``
  (the newest 200), ``stats.fires`` (the first call primes the window from the store:
  timed alone; later ones answer from memory), ``job.tree``;
- Chromium (Debian's, headless) loading the page ``--repeat`` times (a login, then
  reloads with the session): milliseconds from navigation to the connection being live,
  to the first job rows, and to the first events; then from a click on *next* to the
  second page, and from typing a search to its rows;
- the daemon restarted: its first ``stats.fires`` reads the hour's events from the store.

Run: ``python -m bench.dashboard --jobs 10000``. A benchmark, not a test: nothing here
asserts; the numbers go to stdout (and a ``RESULT`` JSON line) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test kit's daemon runner and bulk loader

from gateway.rawws import connect  # noqa: E402
from support.bulk_load import LIMITS, fill  # noqa: E402
from support.daemon_proc import RealDaemon, cli_env, gnomon  # noqa: E402

from bench.common import emit  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


async def _timed(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """The median milliseconds of ``repeat`` awaits of ``call()``."""
    spent = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - t0) * 1000)
    return statistics.median(spent)


async def first_fires(daemon: RealDaemon) -> dict[str, float]:
    """Milliseconds of the first ``stats.fires`` of a daemon (the prime)."""
    async with connect(daemon) as conn:
        t0 = time.perf_counter()
        await conn.result("stats.fires", {})
        return {"stats_fires_primed_ms": (time.perf_counter() - t0) * 1000}


async def rpc_times(daemon: RealDaemon, repeat: int) -> dict[str, float]:
    """Median milliseconds of each call the page makes (see the module docstring)."""
    async with connect(daemon) as conn:
        page = {"all": True, "limit": 50, "with_total": True}
        t0 = time.perf_counter()
        await conn.result("stats.fires", {})
        prime = (time.perf_counter() - t0) * 1000
        return {
            "job_list_ms": await _timed(lambda: conn.result("job.list", page), repeat),
            "job_list_search_ms": await _timed(
                lambda: conn.result("job.list", {**page, "search": "scale-0004"}), repeat
            ),
            "events_newest_ms": await _timed(
                lambda: conn.result("events.list", {"newest": True, "limit": 200}), repeat
            ),
            "stats_fires_first_ms": prime,
            "stats_fires_ms": await _timed(lambda: conn.result("stats.fires", {}), repeat),
            "job_tree_ms": await _timed(lambda: conn.result("job.tree", {}), repeat),
        }


def page_times(daemon: RealDaemon, repeat: int) -> dict[str, float]:
    """Median milliseconds from navigation to live, first job rows and first events."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    url = json.loads(gnomon(daemon.home, "dashboard", "--no-open", "--json").out)["url"]
    marks: dict[str, list[float]] = {"live_ms": [], "first_rows_ms": [], "first_events_ms": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for i in range(repeat):
            t0 = time.perf_counter()
            if i == 0:
                page.goto(url)
            else:
                page.reload()
            for key, selector in (
                ("live_ms", "#conn[data-state=live]"),
                ("first_rows_ms", "#jobs tr.job-row"),
                ("first_events_ms", "#events li"),
            ):
                page.wait_for_selector(selector, timeout=60_000)
                marks[key].append((time.perf_counter() - t0) * 1000)
        result = {k: statistics.median(v) for k, v in marks.items()}
        result.update(_table_times(page))
        browser.close()
    return result


def _table_times(page: Any) -> dict[str, float]:
    """Milliseconds from a click on *next* to rows 51–100 shown, and from typing a search
    to its page shown (the 250 ms typing pause included)."""
    out = {}
    for key, act, done in (
        ("next_page_ms", lambda: page.click("#jobs-next"), "rows 51–100"),
        ("search_ms", lambda: page.fill("#search", "scale-0004"), "rows 1–10 of 10"),
    ):
        t0 = time.perf_counter()
        act()
        while not page.inner_text("#jobs-range").startswith(done):
            time.sleep(0.005)
        out[key] = (time.perf_counter() - t0) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="gnomon-bench-dash-")) / "home"
    daemon = RealDaemon.start(home, env=cli_env(home, **LIMITS))
    try:
        t0 = time.perf_counter()
        trio.run(fill, daemon, args.jobs)
        result: dict[str, Any] = {"workload": "DASH", "jobs": args.jobs, "events": 2 * args.jobs}
        result["fill_s"] = round(time.perf_counter() - t0, 2)
        result.update(trio.run(rpc_times, daemon, args.repeat))
        result.update(page_times(daemon, args.repeat))
        daemon.stop()
        daemon = RealDaemon.start(home, env=cli_env(home, **LIMITS))
        result.update(trio.run(first_fires, daemon))
    finally:
        daemon.stop()
    for key, value in result.items():
        shown = f"{value:.1f}" if isinstance(value, float) else value
        print(f"{key:>22}  {shown}")
    emit(result)


if __name__ == "__main__":
    main()
