"""A daemon filled fast: ``jobs`` hourly no-op jobs through ``job.create_many``, then each
updated once (``mode: replace``), for two events a job (the dashboard's scale test and
``bench/dashboard.py``). The daemon must run with :data:`LIMITS` in its environment."""

from __future__ import annotations

from typing import Any

from gateway.rawws import connect, hourly_spec
from support.daemon_proc import RealDaemon

#: Rate limits and frame size for bulk creates of :data:`BATCH` specs.
LIMITS = {
    "GNOMON_LIMITS_OWNER_RPS": "100000",
    "GNOMON_LIMITS_OWNER_BURST": "100000",
    "GNOMON_LIMITS_GLOBAL_RPS": "100000",
    "GNOMON_LIMITS_GLOBAL_BURST": "100000",
    "GNOMON_GATEWAY_MAX_MESSAGE_BYTES": str(4 << 20),
}
BATCH = 2000


def job_name(i: int) -> str:
    return f"scale-{i:05d}"


async def fill(daemon: RealDaemon, jobs: int) -> None:
    """Create ``jobs`` jobs (``scale-00000``…, tagged ``shard=i%10``), then update each:
    ``2 * jobs`` events."""
    base = hourly_spec("base")
    async with connect(daemon) as conn:
        for mode, note in (("create", ""), ("replace", "updated once")):
            for start in range(0, jobs, BATCH):
                specs = [_spec(base, i, note) for i in range(start, min(start + BATCH, jobs))]
                result = await conn.result("job.create_many", {"specs": specs, "mode": mode})
                wanted = "created" if mode == "create" else "configured"
                assert result[wanted] == len(specs), {k: result[k] for k in ("refused", wanted)}


def _spec(base: dict[str, Any], i: int, note: str) -> dict[str, Any]:
    return {**base, "name": job_name(i), "tags": {"shard": str(i % 10)}, "description": note}
