"""The engine's side of a cluster (docs/cluster.md): this daemon indexes, activates and
fires only the jobs of the partitions its membership holds.

The membership (``runtime/cluster/membership.py``) calls :meth:`PartitionLink.acquired`
after taking partitions — recovery for just those jobs: index them, kill and close their
runs left open by other boots (their owner died or fenced itself), activate the due ones
— and :meth:`PartitionLink.releasing` before giving partitions back or after losing them:
their job actors are stopped (bounded by :data:`STOP_WITHIN`; what they still try to
write is refused by the store's fence anyway) and forgotten by the directory. New job ids
are drawn until one falls in a held partition, so a job created here is owned here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import trio

from gnomon.actors.directory import JobEntry
from gnomon.actors.engine import new_job_id
from gnomon.actors.job.ports import Save
from gnomon.actors.recovery import BootPort, RecoveryReport, recover
from gnomon.actors.remote import apply_command
from gnomon.actors.tree import EngineTree
from gnomon.runtime.cluster.commands_core import Found
from gnomon.runtime.cluster.core import partition_of
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.state import RunRecord

log = logging.getLogger("gnomon.partitions")
#: Seconds a release waits for the job actors of the partitions to stop.
STOP_WITHIN = 1.0
#: Random ids drawn at most for one new job before giving up on a held partition.
ID_TRIES = 10_000


class _Only:
    """A boot port that sees only the jobs (and their runs) of some partitions."""

    def __init__(self, port: BootPort, keep: Callable[[str], bool]) -> None:
        self._port, self._keep = port, keep

    async def job_index(self) -> Sequence[JobEntry]:
        return [e for e in await self._port.job_index() if self._keep(e.id)]

    async def open_runs(self, other_than_boot: str) -> Sequence[RunRecord]:
        return [r for r in await self._port.open_runs(other_than_boot) if self._keep(r.job_id)]

    async def save(self, save: Save) -> None:
        await self._port.save(save)


class PartitionLink:
    """See the module docstring.

    Args:
        tree: the engine.
        port: the store as recovery sees it.
        partitions: the cluster's partition count.
        member: the membership (its ``held`` partitions: cheap, any thread).
    """

    def __init__(
        self,
        tree: EngineTree,
        port: BootPort,
        *,
        partitions: int,
        member: Any,
    ) -> None:
        self.tree, self.port, self.partitions = tree, port, partitions
        self.held: Callable[[], Collection[int]] = lambda: member.held
        self.boot_id = ""
        self.ready = False
        self.relay = self.command_relay(member)

    def command_relay(self, member: Any) -> Any:
        """This node's ``runtime/cluster/commands.py`` ``CommandRelay`` (run it after the
        membership joined), through which admission, the directory and the methods see
        other nodes' jobs (docs/cluster.md, "What is global")."""
        from gnomon.runtime.cluster.commands import CommandRelay  # needs psycopg

        tree = self.tree

        async def apply(cmd: Any) -> str | None:
            return await apply_command(tree, cmd.job_id, cmd.command, cmd.params)

        relay = CommandRelay(member.dsn, member, partitions=self.partitions, apply=apply)
        relay.local_live = lambda: tree.directory.live_count
        tree.admission.elsewhere = relay.elsewhere  # limits.max_jobs over the cluster
        tree.admission.resolve_elsewhere = relay.resolved  # depends_on another node's job
        tree.directory.elsewhere = lambda job_id: _entry(relay.seen(job_id))
        tree.directory.on_end = lambda job_id, st: relay.dependency_ended(job_id, st.value)
        tree.remote = relay  # the methods' view of other nodes' jobs
        return relay

    def partition(self, job_id: str) -> int:
        return partition_of(job_id, self.partitions)

    async def boot(self, boot_id: str) -> RecoveryReport:
        """Boot recovery for the partitions held now; later takes recover on their own."""
        self.boot_id, self.ready = boot_id, True
        mine = set(self.held())
        return await self._recover(mine)

    async def acquired(self, epochs: Mapping[int, int]) -> None:
        """Recovery for newly taken partitions (before :meth:`boot`: left to it)."""
        if self.ready:
            report = await self._recover(set(epochs))
            log.info("took %d partition(s): %d job(s), %d activated", len(epochs),
                     report.jobs, report.activated)  # fmt: skip
        if self.relay is not None:
            self.relay.wake()  # commands that wait for these jobs

    async def _recover(self, ps: set[int]) -> RecoveryReport:
        port = _Only(self.port, lambda job_id: self.partition(job_id) in ps)
        return await recover(self.tree.directory, port, boot_id=self.boot_id)

    async def releasing(self, ps: frozenset[int]) -> None:
        """Stop and forget the jobs of ``ps`` (bounded by :data:`STOP_WITHIN`)."""
        directory = self.tree.directory
        gone = [e.id for e in directory.entries() if self.partition(e.id) in ps]
        with trio.move_on_after(STOP_WITHIN):
            async with trio.open_nursery() as nursery:
                for job_id in gone:
                    if directory.active(job_id) is not None:
                        nursery.start_soon(self._stop, job_id)
        for job_id in gone:
            directory.forget(job_id)
        log.info("let go of %d partition(s): %d job(s)", len(ps), len(gone))

    async def _stop(self, job_id: str) -> None:
        with contextlib.suppress(GnomonError):
            await self.tree.jobs.terminate_child(job_id)

    def new_id(self) -> str:
        """A job id in a partition held now (any id if none is held: the fence refuses)."""
        held = self.held()
        job_id = new_job_id()
        for _ in range(ID_TRIES):
            if self.partition(job_id) in held:
                break
            job_id = new_job_id()
        return job_id


def _entry(found: Found | None) -> JobEntry | None:
    """Another node's job as the directory describes it."""
    if found is None:
        return None
    return JobEntry(id=found.id, name=found.name, status=JobStatus(found.status), owner=found.owner)
