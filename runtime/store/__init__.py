"""Durable storage behind an intent-level :class:`Store` protocol.

The central write is one **unit of work**, :class:`Changes`: job states to upsert, slots
to claim, run records, deletions, inbox items and events — committed together or not at
all. A claim that already exists rolls its unit back and raises
:class:`FireAlreadyClaimed`: ``UNIQUE(job_id, fire_time)`` is what makes "a slot fires
exactly once" hold across crashes. Events get a gap-free ``seq`` and their hash chain in
the same transaction, and are published only after the commit. SQLite implements it
(:mod:`.sqlite`, the zero-setup default) and PostgreSQL (:mod:`.pg`) implement it, with
the same writer actor (:mod:`.writer`). Design notes: ``docs/store.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from gnomon.runtime.errors import Conflict, GnomonError
from gnomon.runtime.inbox import InboxItem
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import Event, EventDraft
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.protocol_inbox import InboxEntry

if TYPE_CHECKING:
    from gnomon.runtime.store.audit import AuditReport


class FireAlreadyClaimed(Conflict):
    """A slot of the unit of work was claimed before; nothing of the unit was written."""


class TokenNameTaken(Conflict):
    """A live token already carries the name a new token asks for. Raised by the token
    book's own check and, in a cluster, by the PostgreSQL store's check under a lock on
    the name (``put_tokens``), so the loser of two nodes racing for one name gets the
    same refusal as on one node."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"a live token is already named {name!r}",
            hint="revoke it first, or pick another name",
        )
        self.name = name


class UnitRejected(GnomonError):
    """A store's fence refused one unit of work (its writer no longer owns what the unit
    writes); nothing of the unit was written, the other units of its batch commit.
    Fences raise it or a subclass (``PgStore(fence=…)``, docs/store.md). Not a
    ``StoreUnavailable``: waiting for the store to write again would not help."""

    exit_code: ClassVar[int] = 5
    rpc_code: ClassVar[int] = -32008


class PartitionMoved(UnitRejected):
    """A fence's refusal because the unit writes a job of a partition this writer does not
    hold (any more): a unit that creates a fresh job may be tried again under a new id
    drawn in a partition held now (``partitions``: the ones refused)."""

    def __init__(self, message: str, partitions: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.partitions = tuple(partitions)


def _one_wake_per_job(changes: Changes, _attribute: Any, wakes: tuple[Any, ...]) -> None:
    if wakes and len(wakes) != len(changes.jobs):
        raise ValueError(f"{len(wakes)} wake time(s) for {len(changes.jobs)} job state(s)")


@attrs.frozen(kw_only=True)
class Changes:
    """One atomic unit of work.

    ``wakes`` holds, for each of ``jobs`` in order, when the job's engine wants it back —
    its earliest timer, as the job's core holds it (``None``: none) — stored for the boot
    index (:meth:`Store.job_index`). The store does not work it out itself: without
    ``wakes`` a live job is indexed as due at once (its ``updated_at``), which only
    activates it early at the next boot, where it finds its timers itself.
    """

    jobs: tuple[JobState, ...] = ()
    wakes: tuple[datetime | None, ...] = attrs.field(default=(), validator=_one_wake_per_job)
    claims: tuple[tuple[str, datetime], ...] = ()
    runs: tuple[RunRecord, ...] = ()
    deleted_jobs: tuple[str, ...] = ()
    inbox: tuple[InboxItem, ...] = ()
    events: tuple[EventDraft, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.jobs or self.claims or self.runs or self.deleted_jobs or self.inbox or self.events
        )


@attrs.frozen(kw_only=True)
class JobRow:
    """A live job as the boot index sees it: no state to decode."""

    id: str
    name: str
    status: JobStatus
    owner: str
    wake: datetime | None
    depends_on: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class JobQuery:
    """Which jobs ``list_jobs`` returns; empty fields do not filter."""

    statuses: frozenset[JobStatus] = frozenset()
    include_terminal: bool = False
    tags: tuple[tuple[str, str | None], ...] = ()
    owner: str | None = None
    name: str | None = None
    ids: tuple[str, ...] = ()
    limit: int = 10_000
    #: Text found (case-insensitively) in the name, the id or a tag's ``key=value``.
    search: str | None = None


@attrs.frozen(kw_only=True)
class EventQuery:
    """Which events ``events`` returns (``types`` are glob patterns): seqs after
    ``since_seq`` up to ``until_seq`` (inclusive), times in ``[since, until)``; the first
    ``limit`` matches, or with ``newest`` the last ``limit`` (still oldest first)."""

    since_seq: int = 0
    limit: int = 1000
    job_id: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    until_seq: int | None = None
    newest: bool = False


@attrs.frozen(kw_only=True)
class BootInfo:
    """This daemon boot, and whether the previous one stopped cleanly."""

    boot_id: str
    previous_clean: bool
    first_boot: bool


class Store(Protocol):
    """What the daemon needs from durable storage."""

    async def commit(self, changes: Changes, *, urgent: bool = False) -> tuple[Event, ...]:
        """Write ``changes`` atomically; return the sealed events (already published).

        ``urgent`` units (a run's end, say) overtake the ordinary ones waiting to be
        written and enter the next transaction.

        Raises:
            FireAlreadyClaimed: a claim existed; nothing was written.
            UnitRejected: the store's fence refused the unit; nothing was written.
            StoreUnavailable: the disk is full, read-only or failing, the database is
                corrupt or its server unreachable; nothing was written.
        """
        ...

    async def commit_many(
        self, units: Sequence[Changes], *, urgent: bool = False
    ) -> list[tuple[Event, ...] | GnomonError]:
        """Write independent ``units`` in *one* transaction, each on its own: the result
        of each, in order, is its sealed events (already published; ``()`` for an empty
        unit) or the error that refused that unit alone — :class:`FireAlreadyClaimed`
        when one of its claims existed, :class:`UnitRejected` when the store's fence
        refused it. Nothing of a refused unit is written; the others commit. The batch
        firer commits a chunk of due jobs' fires this way (docs/engine.md).

        Raises:
            StoreUnavailable: the store cannot write; nothing of any unit was written.
        """
        ...

    async def get_job(self, job_id: str) -> JobState | None: ...

    async def job_index(self) -> list[JobRow]: ...

    async def list_jobs(self, query: JobQuery) -> list[JobState]: ...

    async def count_jobs(self, query: JobQuery) -> int:
        """How many jobs match ``query``, its ``limit`` aside (``job.list``'s ``total``)."""
        ...

    async def page_jobs(self, query: JobQuery, after: int = 0) -> list[tuple[int, JobState]]:
        """Matching jobs stored after row ``after``, in storage order, with their row ids
        (``job.list`` pages: a job's row id never changes while it exists)."""
        ...

    async def runs(self, job_id: str, limit: int = 100) -> list[RunRecord]: ...

    async def runs_page(
        self,
        job_id: str,
        limit: int,
        *,
        cycle: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> list[tuple[float, RunRecord]]:
        """A job's runs newest first, older than ``before`` (``(started_ts, run_id)``),
        with their ``started_ts`` (``job.logs`` pages)."""
        ...

    async def open_runs(self, other_than_boot: str) -> list[RunRecord]: ...

    async def fire_claimed(self, job_id: str, fire_time: datetime) -> bool: ...

    async def events(self, query: EventQuery) -> list[Event]: ...

    async def status_counts(self) -> dict[JobStatus, int]: ...

    async def last_seq(self) -> int: ...

    async def begin_boot(self, boot_id: str, now: datetime) -> BootInfo: ...

    async def end_boot(self, boot_id: str, now: datetime) -> None: ...

    async def prune(self, now: datetime, batch: int = 500) -> int: ...

    async def inbox(self, owner: str, *, unread_only: bool) -> list[InboxEntry]:
        """The owner's inbox items, unread first, each in order of writing."""
        ...

    async def ack_inbox(self, owner: str, ids: Sequence[int], now: datetime) -> int: ...

    async def problem(self, timeout: float = 5.0) -> str | None:
        """Why the store cannot write now, or ``None`` when a probe write just reached
        the disk (``system.health``'s ``store_writable``): the probe is a real write through
        the writer, so a stopped writer or a failing disk is noticed.

        Cancellation: the probe stays queued and is written later.
        """
        ...

    async def verify_audit(self) -> AuditReport:
        """Check the event log against its anchors and MACs (``audit.verify``).

        Raises:
            StoreUnavailable: the store cannot read.
        """
        ...

    def tokens_now(self) -> list[TokenRecord]:
        """Every token, read synchronously (the daemon's start, before the tree runs)."""
        ...

    async def put_tokens(self, records: Sequence[TokenRecord]) -> None:
        """Insert or update ``records`` atomically (a new token, or revocations).

        Raises:
            TokenNameTaken: (PostgreSQL) a live record's name is carried by another live
                token in the database; nothing was written.
            Conflict: (PostgreSQL) another transaction held that name's lock for 2 s.
        """
        ...

    def switch_now(self, name: str) -> str | None:
        """A stored switch (``gnomon agents off``), read synchronously at start."""
        ...

    async def set_switch(self, name: str, value: str) -> None:
        """Store switch ``name`` (it wins over the config until changed again)."""
        ...

    async def update_switch(self, name: str, change: Callable[[str | None], str]) -> str:
        """Replace switch ``name`` by ``change(current)`` in one transaction (on a shared
        database the row is locked first, so changes through several daemons apply one
        after the other and none overwrites another's); the value written.

        Raises:
            Whatever ``change`` raises (nothing is written), or StoreUnavailable.
        """
        ...

    async def wait_writable(self) -> None:
        """Return once the store can write again (at once when it can).

        A storage failure (a full disk, a read-only file system) makes ``commit`` raise
        ``StoreUnavailable`` until a write succeeds again.

        Raises:
            StoreUnavailable: the daemon is stopping and the store still cannot write.
        """
        ...
