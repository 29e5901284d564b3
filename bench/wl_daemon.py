"""Workloads through a real daemon (a child process) and its public WebSocket API.

- ``W5``: ``--creates`` jobs created through ``job.create``, pipelined over one WebSocket
  (``--pipeline`` calls in flight), then as many through ``job.create_many`` in calls of
  ``--batch`` specs (``--pipeline`` calls in flight too), side by side in one daemon, each
  with the daemon's CPU per create; then more single creates up to ``--restart`` jobs; the
  daemon is stopped, one more job is made due, and a cold start is timed from spawn to the
  first ``job.fired`` event in the database.
- ``E2E``: ``gnomon schedule`` (the real CLI process) of a job due now, timed to its
  ``job.fired`` event, ``--n`` times in a row.

Run one: ``python -m bench.wl_daemon W5 --creates 10000 --restart 100000``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio

from bench.common import emit, lateness_stats, now, sample
from gnomon.cli import client
from gnomon.runtime.home import Home
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import OnceSchedule

LIMITS = {
    "GNOMON_LIMITS_GLOBAL_RPS": "1000000",
    "GNOMON_LIMITS_GLOBAL_BURST": "1000000",
    "GNOMON_LIMITS_OWNER_RPS": "1000000",
    "GNOMON_LIMITS_OWNER_BURST": "1000000",
    "GNOMON_LIMITS_MAX_JOBS": "1000000",
}


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    env.update(GNOMON_HOME=str(home), GNOMON_AUTOSTART="0", NO_COLOR="1", **LIMITS)
    return env


@contextmanager
def daemon(home: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A foreground daemon for ``home``; its process and URL (SIGTERM on exit)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "daemon.json").unlink(missing_ok=True)
    with open(home / "bench-daemon.out", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gnomon.cli", "daemon", "start", "--port", "0"],
            env=env_for(home),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        url = wait_url(home, proc)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_url(home: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = Home(home).read_daemon_json()
        if info is not None and info.get("pid") == proc.pid:
            return str(info["url"])
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise RuntimeError((home / "bench-daemon.out").read_text(errors="replace")[-2000:])


def spec(name: str, at: datetime) -> dict[str, Any]:
    value = JobSpec(
        name=name, schedule=OnceSchedule(at=at), action=ShellAction(command="true"), i_know=True
    )
    return dict(wire.unstructure(value))


async def create_many(
    home: Path, url: str, names: range, at: datetime, pipeline: int, batch: int = 0
) -> float:
    """Create jobs ``bench-<i>`` over one WebSocket, ``pipeline`` calls in flight — one
    ``job.create`` each, or ``job.create_many`` calls of ``batch`` specs; seconds."""
    calls: Iterator[range] = (
        iter(names[i : i + batch] for i in range(0, len(names), batch))
        if batch
        else iter(range(i, i + 1) for i in names)
    )
    async with client.connect(Home(home), url, start=False) as conn:

        async def worker() -> None:
            for chunk in calls:
                if not batch:
                    await conn.call("job.create", {"spec": spec(f"bench-{chunk[0]}", at)})
                    continue
                specs = [spec(f"bench-{i}", at) for i in chunk]
                answer = await conn.call("job.create_many", {"specs": specs})
                assert answer["created"] == len(specs), answer

        started = time.perf_counter()
        async with trio.open_nursery() as n:
            for _ in range(pipeline):
                n.start_soon(worker)
        return time.perf_counter() - started


def first_fired(db: Path) -> float | None:
    with suppress(sqlite3.Error):
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
        try:
            row = conn.execute("SELECT min(ts) FROM events WHERE type='job.fired'").fetchone()
        finally:
            conn.close()
        return None if row is None or row[0] is None else float(row[0])
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(pid: int, fn: Any, *args: Any) -> tuple[float, float]:
    """``fn(*args)``'s wall seconds (its return) and the daemon's CPU seconds meanwhile."""
    before = cpu_seconds(pid)
    secs = trio.run(fn, *args)
    return float(secs), cpu_seconds(pid) - before


def w5(a: argparse.Namespace, home: Path) -> dict[str, Any]:
    later = datetime.now(UTC) + timedelta(days=1)
    n = a.creates
    with daemon(home) as (proc, url):
        secs, cpu = timed(proc.pid, create_many, home, url, range(n), later, a.pipeline)
        bulk, bulk_cpu = timed(
            proc.pid, create_many, home, url, range(n, 2 * n), later, a.pipeline, a.batch
        )
        start = 2 * n
        rest = trio.run(create_many, home, url, range(start, a.restart), later, a.pipeline)
        due = datetime.now(UTC) + timedelta(seconds=2)
        last = max(a.restart, start)
        trio.run(create_many, home, url, range(last, last + 1), due, 1)
    time.sleep(max(0.0, due.timestamp() - now()) + 0.5)  # due while the daemon is down
    db = home / "gnomon.db"
    size = db.stat().st_size
    spawned = now()
    with daemon(home) as (_, _url):
        up = now()
        fired = None
        while fired is None and now() < spawned + 120:
            fired = first_fired(db)
            time.sleep(0.01)
        seen = now()
    return {
        "creates": n,
        "pipeline": a.pipeline,
        "creates_per_s": n / secs,
        "daemon_cpu_us_per_create": cpu / n * 1e6,
        "bulk_batch": a.batch,
        "bulk_creates_per_s": n / bulk,
        "bulk_daemon_cpu_us_per_create": bulk_cpu / n * 1e6,
        "more_creates_per_s": (a.restart - start) / rest if a.restart > start else None,
        "restart_jobs": last + 1,
        "db_mib": size / 2**20,
        "restart_up_s": up - spawned,
        "restart_first_fire_s": (seen - spawned) if fired is not None else None,
    }


def e2e(a: argparse.Namespace, home: Path) -> dict[str, Any]:
    lats: list[float] = []
    db = home / "gnomon.db"
    with daemon(home) as (_, url):
        env = env_for(home)
        for i in range(a.n):
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            before = conn.execute("SELECT count(*) FROM events WHERE type='job.fired'").fetchone()
            started = now()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gnomon.cli",
                    "schedule",
                    f"e2e-{i}",
                    "--when",
                    "now",
                    "--do",
                    "shell: true",
                    "--i-know",
                    "--url",
                    url,
                ],
                env=env,
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
            while (
                conn.execute("SELECT count(*) FROM events WHERE type='job.fired'").fetchone()[0]
                <= before[0]
                and now() < started + 30
            ):
                time.sleep(0.002)
            lats.append(now() - started)
            conn.close()
    return {"n": len(lats), **lateness_stats(lats), "samples": sample(lats)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["W5", "E2E"])
    p.add_argument("--creates", type=int, default=10_000)
    p.add_argument("--restart", type=int, default=100_000)
    p.add_argument("--pipeline", type=int, default=64)
    p.add_argument("--batch", type=int, default=1000, help="W5: specs per job.create_many")
    p.add_argument("--n", type=int, default=50)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="gnomon-daemon-bench-") as tmp:
        home = Path(tmp) / "home"
        res = w5(a, home) if a.workload == "W5" else e2e(a, home)
    res.update(system="gnomon", store="sqlite", workload=a.workload)
    emit(res)


if __name__ == "__main__":
    main()
