"""Boot recovery: make a restart indistinguishable from never having stopped.

Run once, before the directory's timer starts firing:

1. **Index** every live job from the store (cheaply: id, name, status, next wake) into the
   directory's deadline heap.
2. **Orphans**: runs of earlier daemon boots still recorded as running had their process
   groups abandoned when the daemon died. Each group is killed if it still exists *and*
   is still ours (start time and machine boot id compared, so a reused pid is never
   touched), then the run's record is closed as ``failed`` (no run of a dead boot stays
   "running" for ever, nor is found again at every later boot). The job's own recovery
   then records ``run.orphaned`` and lets its retry policy decide.
3. **Activate** the jobs that cannot wait for their timer: those with a fire in flight
   (waiting or running: their wait resumes with its remaining budget, their orphan is
   retried) and blocked ones (their dependencies may have ended while news was lost).
   Everything else sleeps until its wake time, when misfire policy applies to the slots
   missed while the daemon was down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import attrs

from gnomon.actors.core.job.attempts import ORPHAN_ERROR
from gnomon.actors.directory import JobDirectory, JobEntry
from gnomon.actors.job.ports import Save
from gnomon.runtime import procs
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.state import RunRecord

log = logging.getLogger("gnomon.recovery")

#: Statuses whose jobs are activated at boot instead of waiting for their timer.
ACTIVATE_AT_BOOT = frozenset({JobStatus.WAITING, JobStatus.RUNNING, JobStatus.BLOCKED})


class BootPort(Protocol):
    """What recovery reads from the store."""

    async def job_index(self) -> Sequence[JobEntry]:
        """Every live (non-terminal) job, with its next wake time."""
        ...

    async def open_runs(self, other_than_boot: str) -> Sequence[RunRecord]:
        """Runs started under another daemon boot and never finished."""
        ...

    async def save(self, save: Save) -> None:
        """Write run records (the orphans, closed)."""
        ...


@attrs.frozen(kw_only=True)
class RecoveryReport:
    """What recovery found, for the log and ``daemon.started``'s payload."""

    jobs: int
    activated: int
    orphans_killed: int
    orphans_gone: int
    orphans_reused: int


async def kill_orphans(runs: Iterable[RunRecord], grace: float = 5.0) -> dict[str, int]:
    """Kill the still-running process groups of ``runs``; count what was found."""
    counts = {state.value: 0 for state in procs.OrphanState}
    for run in runs:
        if run.pid is None or run.pgid is None:
            counts[procs.OrphanState.GONE.value] += 1  # never spawned a process
            continue
        ident = procs.ProcessIdentity(
            pid=run.pid, pgid=run.pgid, start_time=run.proc_start, boot_id=run.host_boot
        )
        state = await procs.kill_orphan(ident, grace)
        counts[state.value] += 1
        log.warning(
            "run %s of job %s: orphaned process group %s was %s",
            run.run_id,
            run.job_id,
            run.pgid,
            state.value,
        )
    return counts


async def close_orphans(port: BootPort, runs: Sequence[RunRecord], now: datetime) -> None:
    """Record the end of each orphaned run (``failed``, after its group was killed)."""
    closed = tuple(
        attrs.evolve(run, finished_at=now, outcome=Outcome.FAILED, error=ORPHAN_ERROR)
        for run in runs
    )
    if closed:
        await port.save(Save(runs=closed))


async def recover(
    directory: JobDirectory,
    port: BootPort,
    *,
    boot_id: str,
    grace: float = 5.0,
    now: datetime | None = None,
) -> RecoveryReport:
    """Index, kill and close orphans, activate (see the module docstring)."""
    entries = list(await port.job_index())
    directory.load(entries)
    orphans = await port.open_runs(boot_id)
    counts = await kill_orphans(orphans, grace)
    await close_orphans(port, orphans, now or datetime.now(UTC))
    activated = 0
    for entry in entries:
        if entry.status in ACTIVATE_AT_BOOT:
            try:
                await directory.activate(entry.id)
            except GnomonError as exc:
                log.error("job %s could not be activated at boot: %s", entry.id, exc)
                continue
            activated += 1
    return RecoveryReport(
        jobs=len(entries),
        activated=activated,
        orphans_killed=counts[procs.OrphanState.ALIVE.value],
        orphans_gone=counts[procs.OrphanState.GONE.value],
        orphans_reused=counts[procs.OrphanState.REUSED.value],
    )
