"""Any node accepts any call: job resolution from the shared database, and commands sent
to the node that owns a job (docs/cluster.md, "What is global"; the rules in
:mod:`.commands_core`, the statements in :mod:`.commands_sql`).

A :class:`CommandRelay` runs beside the membership with connections of its own:

- the **listener** waits for NOTIFYs on :data:`.commands_sql.SENT` (wakes the claimer)
  and :data:`.commands_sql.DONE` (wakes the caller waiting for that command); after a
  reconnect it wakes everyone, since NOTIFYs sent meanwhile are lost;
- the **claimer** claims the open commands of the partitions this node holds — on a
  NOTIFY, and every :data:`CATCH_UP` seconds whatever happens — and applies each through
  ``apply`` (the daemon's engine), then writes its result;
- :meth:`CommandRelay.send` is the caller's side: insert, NOTIFY, wait (bounded by
  :class:`.commands_core.WaitPolicy`), answer or raise the owner's error.

Cancelling :meth:`run` stops the tasks; commands claimed but not applied stay claimed by
this boot and are taken over (or answered as abandoned) once its lease runs out.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
import trio

from gnomon.runtime.cluster import commands_core as core
from gnomon.runtime.cluster import commands_sql as sql
from gnomon.runtime.cluster.core import first_line, partition_of
from gnomon.runtime.cluster.handoff import open_connection
from gnomon.runtime.cluster.lookups import CATCH_UP, ClusterLookups, Member
from gnomon.runtime.errors import (
    AskTimeout,
    GnomonError,
    StoreUnavailable,
    from_wire,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Seconds between tries of a command this node cannot apply yet (its job not indexed).
RETRY_APPLY = 0.2
#: Tries of such a command before it is given back for another node or a later claim.
APPLY_TRIES = 25
#: ``apply``: the encoded result, or ``None`` when this node cannot apply it now.
Apply = Callable[[sql.Command], Awaitable[str | None]]


class CommandRelay(ClusterLookups):
    """See the module docstring (the lookups are :class:`.lookups.ClusterLookups`).

    Args:
        dsn: the cluster database.
        member: this node's membership.
        partitions: the partition count.
        apply: applies a claimed command on this node (see :data:`Apply`); must not raise.
        policy: how callers wait.
        local_live: this node's live jobs (see :class:`.lookups.ClusterLookups`).
    """

    def __init__(
        self,
        dsn: str,
        member: Member,
        *,
        partitions: int,
        apply: Apply,
        policy: core.WaitPolicy | None = None,
        inline: bool = False,
        local_live: Callable[[], int] = lambda: 0,
    ) -> None:
        super().__init__(dsn, member, partitions=partitions, inline=inline, local_live=local_live)
        self.apply = apply
        self.policy = policy or core.WaitPolicy()
        self._waiters: dict[int, trio.Event] = {}
        self._wake = trio.Event()
        self._news_in, self._news = trio.open_memory_channel[tuple[str, str]](math.inf)
        self._counted = -CATCH_UP

    def dependency_ended(self, job_id: str, status: str) -> None:
        """Queue ``job_id``'s final status for its dependents on other nodes (each gets a
        ``dependency_ended`` command; nobody waits for the answers)."""
        self._news_in.send_nowait((job_id, status))

    async def command(self, job_id: str, command: str, params: dict[str, Any]) -> None:
        """Have the owner of ``job_id`` apply ``command`` once, and wait for its answer.

        Raises:
            GnomonError: the owner's refusal, as on one node (``Conflict``, ``NotFound``…).
            AskTimeout: no answer in time (the message names the owner node and says
                whether the command was withdrawn unapplied or its effect is unknown).
            StoreUnavailable: the database cannot be reached.
        """
        p = partition_of(job_id, self.partitions)
        boot = self.member.boot_id
        cid = await self._db(
            lambda c: sql.send(c, job_id=job_id, p=p, command=command, params=params, boot=boot)
        )
        self._waiters[cid] = trio.Event()
        try:
            await self._await(cid, p, job_id)
        finally:
            self._waiters.pop(cid, None)

    async def clear(self, job_ids: list[str]) -> None:
        """Have the owners delete finished jobs of their partitions: one ``clear`` command
        per partition, sent at once.

        Raises:
            GnomonError: the first refusal (the other partitions' deletions go on).
        """
        by_p: dict[int, list[str]] = {}
        for job_id in job_ids:
            by_p.setdefault(partition_of(job_id, self.partitions), []).append(job_id)
        async with trio.open_nursery() as nursery:
            for ids in by_p.values():
                nursery.start_soon(self.command, ids[0], "clear", {"ids": ids})

    async def _await(self, cid: int, p: int, job_id: str) -> None:
        start, polls, claimed = trio.current_time(), 0, False
        while True:
            deadline = start + self.policy.deadline(claimed)
            with trio.move_on_at(
                min(deadline, trio.current_time() + self.policy.poll_after(polls))
            ):
                await self._waiters[cid].wait()
            self._waiters[cid] = trio.Event()
            polls += 1
            state = (await self._db(lambda c: sql.states(c, [cid]))).get(cid)
            if state is not None and state.result is not None:
                error = core.decode(state.result)
                if error is None:
                    return
                raise from_wire(error)
            claimed = state is not None and state.claimed
            if trio.current_time() >= start + self.policy.deadline(claimed):
                await self._give_up(cid, p, job_id, claimed)

    async def _give_up(self, cid: int, p: int, job_id: str, claimed: bool) -> None:
        """Withdraw an unclaimed command and raise; a claimed one: raise after its grace.

        Raises:
            AskTimeout: always, unless the command was claimed meanwhile (then the caller
                waits its grace).
        """
        limit = self.policy.deadline(claimed)
        node = await self._db(lambda c: sql.owner_node(c, p))
        who = f"node {node}" if node else "no node (its owner died; a live node takes over)"
        if not claimed:
            why = core.encode_error(AskTimeout.rpc_code, f"not taken within {limit:g}s")
            if not await self._db(lambda c: sql.withdraw(c, cid, why)):
                return  # claimed just now: wait for its answer a little longer
            raise AskTimeout(
                f"job {job_id} belongs to {who}, which did not take the command within"
                f" {limit:g}s; it was withdrawn and not applied"
            )
        raise AskTimeout(
            f"job {job_id} belongs to {who}, which took the command but did not answer"
            f" within {limit:g}s; whether it took effect is unknown (gnomon jobs show tells)"
        )

    async def _tell_dependents(self) -> None:
        """Send each queued end to the dependents other nodes own (a failure is logged:
        those dependents re-read their dependencies when their node recovers them)."""
        async for job_id, status in self._news:
            try:
                await self._tell(job_id, status)
            except StoreUnavailable as exc:
                log.warning("cluster: telling the dependents of %s failed: %s", job_id, exc)

    async def _tell(self, job_id: str, status: str) -> None:
        ids = await self._db(functools.partial(sql.dependents, job_id=job_id))
        params = {"dep_id": job_id, "dep_status": status}
        for dependent in (i for i in ids if not self.here(i)):
            send = functools.partial(
                sql.send,
                job_id=dependent,
                p=partition_of(dependent, self.partitions),
                command="dependency_ended",
                params=params,
                boot=self.member.boot_id,
            )
            await self._db(send)

    def wake(self) -> None:
        """Claim now (partitions were just taken and their jobs indexed)."""
        self._wake.set()

    # -- the actor -----------------------------------------------------------------------

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and claim until cancelled (see the module docstring)."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._listen)
                nursery.start_soon(self._tell_dependents)
                task_status.started()
                await self._claim_forever(nursery)
        finally:
            self._slots.close()

    async def _claim_forever(self, nursery: trio.Nursery) -> None:
        while True:
            with trio.move_on_after(CATCH_UP):
                await self._wake.wait()
            self._wake = trio.Event()
            if self.member.fenced:
                continue
            if trio.current_time() >= self._counted + CATCH_UP:
                self._counted = trio.current_time()
                await self._count()
            try:
                claimed = await self._db(lambda c: sql.claim(c, self.member.boot_id))
            except StoreUnavailable as exc:
                log.info("cluster commands: claiming failed (retrying): %s", first_line(exc))
                continue
            for cmd in claimed:
                nursery.start_soon(self._apply_one, cmd)

    async def _apply_one(self, cmd: sql.Command) -> None:
        """Apply a claimed command and write its result; give it back if this node cannot
        apply it (see :data:`APPLY_TRIES`)."""
        me, p = self.member.boot_id, partition_of(cmd.job_id, self.partitions)
        for _ in range(APPLY_TRIES):
            try:
                result = await self.apply(cmd)
            except Exception as exc:  # a bug must not take the relay (and daemon) down
                log.exception("cluster command %d (%s) failed", cmd.id, cmd.command)
                result = core.encode_error(GnomonError.rpc_code, f"internal error: {exc!r}")
            if result is not None:
                await self._answer(cmd, result)
                return
            if not self.member.holds(p):
                break
            await trio.sleep(RETRY_APPLY)
        await self._quietly(lambda c: sql.unclaim(c, cmd.id, me))

    async def _answer(self, cmd: sql.Command, result: str) -> None:
        me = self.member.boot_id
        for _ in range(5):
            try:
                if not await self._db(lambda c: sql.finish(c, cmd.id, me, result)):
                    log.warning("cluster command %d was taken over before its answer", cmd.id)
                return
            except StoreUnavailable as exc:
                log.warning("cluster command %d: writing the answer failed: %s", cmd.id, exc)
                await trio.sleep(RETRY_APPLY)

    async def _quietly(self, call: Callable[[psycopg.Connection[Any]], object]) -> None:
        try:
            await self._db(call)
        except StoreUnavailable as exc:
            log.warning("cluster commands: %s", exc)

    async def _listen(self) -> None:
        """Wake callers and the claimer on NOTIFYs; everyone after a reconnect."""
        while True:
            try:
                conn = await open_connection(self.dsn)
            except (psycopg.Error, OSError):
                await trio.sleep(CATCH_UP)
                continue
            try:
                conn.execute(f"LISTEN {sql.SENT}")
                conn.execute(f"LISTEN {sql.DONE}")
                self._wake_all()  # whatever was sent while not listening
                await self._deliver(conn)
            except (psycopg.Error, OSError) as exc:
                log.info("cluster command listener reconnecting: %s", first_line(exc))
            finally:
                conn.close()
            await trio.sleep(CATCH_UP)

    async def _deliver(self, conn: psycopg.Connection[Any]) -> None:
        while True:
            await trio.lowlevel.wait_readable(conn.fileno())
            conn.pgconn.consume_input()
            if conn.pgconn.status != psycopg.pq.ConnStatus.OK:
                return
            while (note := conn.pgconn.notifies()) is not None:
                if note.relname.decode() == sql.SENT:
                    self._wake.set()
                    continue
                event = self._waiters.get(int(note.extra.decode() or 0))
                if event is not None:
                    event.set()

    def _wake_all(self) -> None:
        self._wake.set()
        for event in self._waiters.values():
            event.set()
