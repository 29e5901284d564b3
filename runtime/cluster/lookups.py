"""What a cluster node reads of every node's jobs in the shared database (docs/cluster.md,
"What is global"): a job by reference wherever it lives, what recent lookups saw, and the
live jobs the other nodes own (``limits.max_jobs``). The base of
:class:`.commands.CommandRelay`, which adds the commands between nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import psycopg

from gnomon.runtime.cluster import commands_core as core
from gnomon.runtime.cluster import commands_sql as sql
from gnomon.runtime.cluster.core import partition_of
from gnomon.runtime.errors import InvalidInput, NotFound, StoreUnavailable
from gnomon.runtime.model.job import MIN_ID_PREFIX
from gnomon.runtime.store.pg_conn import Slots

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Seconds between catch-up claims (NOTIFY can be lost) and between live-job counts.
CATCH_UP = 1.0
#: Jobs remembered from lookups before the memory is cleared.
SEEN_MAX = 10_000


class Member(Protocol):
    """What the relay reads of the membership (:class:`.membership.Membership`)."""

    boot_id: str
    fenced: bool

    def holds(self, p: int) -> bool: ...


class ClusterLookups:
    """See the module docstring.

    Args:
        dsn: the cluster database.
        member: this node's membership.
        partitions: the partition count.
        inline: database calls on the trio thread (tests).
        local_live: this node's live jobs (its directory); with the database's count
            every :data:`CATCH_UP` it tells :meth:`elsewhere`.
    """

    def __init__(
        self,
        dsn: str,
        member: Member,
        *,
        partitions: int,
        inline: bool = False,
        local_live: Callable[[], int] = lambda: 0,
    ) -> None:
        self.dsn, self.member, self.partitions = dsn, member, partitions
        self._slots = Slots(dsn, 2, inline=inline)
        self._seen: dict[str, core.Found] = {}  # job id → the job, from recent finds
        self._refs: dict[str, str] = {}  # reference → job id, from recent finds
        self.local_live = local_live
        self._elsewhere = 0

    # -- for the methods (any node) ------------------------------------------------------

    def here(self, job_id: str) -> bool:
        """Whether this node holds the job's partition now."""
        return self.member.holds(partition_of(job_id, self.partitions))

    def known_owner(self, job_id: str) -> str | None:
        """The job's owner (``user:…``) as a recent :meth:`find` read it."""
        found = self._seen.get(job_id)
        return None if found is None else found.owner

    def seen(self, job_id: str) -> core.Found | None:
        """The job as a recent :meth:`find` read it."""
        return self._seen.get(job_id)

    def resolved(self, ref: str) -> str | None:
        """The id a recent :meth:`find` of ``ref`` answered."""
        return self._refs.get(ref)

    async def find(self, ref: str) -> core.Found:
        """The job ``ref`` names in the shared database (an id, a live job's name, the
        latest of that name, or a unique id prefix).

        Raises:
            NotFound: nothing matches. InvalidInput: the prefix is ambiguous.
            StoreUnavailable: the database cannot be reached.
        """
        found = await self._db(lambda c: sql.resolve(c, ref, MIN_ID_PREFIX))
        if len(found) > 1:
            shown = ", ".join(f.id for f in found[:5])
            raise InvalidInput(
                f"job reference {ref!r} is ambiguous: it prefixes {len(found)}"
                f"{'+' if len(found) > 5 else ''} ids ({shown})",
                token=ref,
                accepted=["a full id", "a longer id prefix", "a live job's name"],
            )
        if not found:
            raise NotFound(f"no job {ref!r}", hint="gnomon jobs list --all shows ids and names")
        if len(self._seen) > SEEN_MAX:
            self._seen.clear()
            self._refs.clear()
        self._seen[found[0].id], self._refs[ref] = found[0], found[0].id
        return found[0]

    def elsewhere(self) -> int:
        """Live jobs other nodes owned at the last count (at most :data:`CATCH_UP` old)."""
        return self._elsewhere

    async def _count(self) -> None:
        """Count the cluster's live jobs; the others' are the total less this node's."""
        mine = self.local_live()
        try:
            total = await self._db(sql.live_jobs)
        except StoreUnavailable as exc:
            log.info("cluster commands: counting live jobs failed: %s", exc)
            return
        self._elsewhere = max(0, total - max(mine, self.local_live()))

    async def _db(self, call: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``call`` on one of the relay's connections in a worker thread.

        Raises:
            StoreUnavailable: the database cannot be reached (or refused the statement).
        """
        try:
            return await self._slots.run(call)
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreUnavailable(f"cluster database unreachable: {first}") from exc
        except psycopg.Error as exc:  # a statement refused: logged, answered as unavailable
            log.exception("cluster commands: a statement failed")
            raise StoreUnavailable(f"cluster database refused a statement: {exc}") from exc
