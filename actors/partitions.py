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
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

import trio

from gnomon.actors.directory import JobEntry
from gnomon.actors.engine import new_job_id
from gnomon.actors.job.ports import Save
from gnomon.actors.recovery import BootPort, RecoveryReport, recover
from gnomon.actors.tree import EngineTree
from gnomon.runtime.cluster.core import partition_of
from gnomon.runtime.errors import GnomonError
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
        relay: this node's :func:`command_relay`.
    """

    def __init__(
        self,
        tree: EngineTree,
        port: BootPort,
        *,
        partitions: int,
        member: Any,
        relay: Any,
    ) -> None:
        self.tree, self.port, self.partitions = tree, port, partitions
        self.held: Callable[[], Collection[int]] = lambda: member.held
        self.relay = relay
        self.boot_id = ""
        self.ready = False

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


def held_ids(member: Any, partitions: int) -> Callable[[], str]:
    """New job ids in a partition ``member`` holds now (any id if none is held: the fence
    refuses), so a job created here is owned here."""

    def new_id() -> str:
        held = member.held
        job_id = new_job_id()
        for _ in range(ID_TRIES):
            if partition_of(job_id, partitions) in held:
                break
            job_id = new_job_id()
        return job_id

    return new_id


def command_relay(
    member: Any,
    *,
    partitions: int,
    apply: Callable[[Any], Awaitable[str | None]],
    local_live: Callable[[], int],
) -> Any:
    """This node's ``runtime/cluster/commands.py`` ``CommandRelay`` (run it after the
    membership joined), through which admission, the directory and the methods see other
    nodes' jobs (docs/cluster.md, "What is global"; ``EnginePorts.remote``). ``apply``:
    :func:`~gnomon.actors.remote.apply_command` on this node's engine; ``local_live``: its
    directory's live count."""
    from gnomon.runtime.cluster.commands import CommandRelay  # needs psycopg

    return CommandRelay(
        member.dsn, member, partitions=partitions, apply=apply, local_live=local_live
    )
