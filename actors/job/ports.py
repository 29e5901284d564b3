"""What a job actor needs from the rest of the engine, and the messages it accepts.

The engine's persistence port (:class:`Persistence`) is deliberately small: load a job,
and save a :class:`Save` — a job state, the slots it claims, run records and events —
atomically. The daemon adapts the store to it; a claim that already exists raises
:class:`~gnomon.runtime.errors.Conflict` and nothing of that save is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

import attrs

from gnomon.actors.core.job.msgs import StartRun, StartTriggers
from gnomon.actors.drain import Drain
from gnomon.actors.exec.interface import Evaluator
from gnomon.actors.job.perform import RunDeps, RunEnd
from gnomon.actors.wait_pollers import WaitPollers
from gnomon.actors.waiter import PollReport
from gnomon.runtime.actor import Request
from gnomon.runtime.clock import Clock
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventDraft
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.kinds import DEFAULT_MODEL
from gnomon.runtime.model.state import Dependency, JobState, RunRecord


@attrs.frozen(kw_only=True)
class Save:
    """One atomic write: the job's new state, its claimed slots, runs and events."""

    job: JobState | None = None
    #: When the job wants its engine back (its earliest timer) as its core holds it;
    #: ``None`` with a ``job``: derived from the state by the state machine's timers (a
    #: save made without a core, such as a create).
    wake: datetime | None = None
    job_id: str | None = None
    claims: tuple[datetime, ...] = ()
    runs: tuple[RunRecord, ...] = ()
    events: tuple[EventDraft, ...] = ()
    urgent: bool = False  # a run's end: overtakes the claims queued in the store
    #: A store that cannot write (a full disk) fails a client's save at once (the client
    #: is answered); the engine's own saves wait until it can and are retried whole.
    client: bool = False


class Persistence(Protocol):
    """The engine's view of the store."""

    async def load(self, job_id: str) -> JobState | None:
        """The job's last committed state, or ``None`` if it was deleted."""
        ...

    async def save(self, save: Save) -> None:
        """Commit ``save`` atomically; events are published after the commit.

        While the store cannot write (a full disk), an engine save waits and is retried
        whole; a ``client`` save raises at once.

        Raises:
            Conflict: one of the claims exists already (nothing was written).
            StoreUnavailable: a ``client`` save met a store that cannot write.
        """
        ...

    async def load_many(self, job_ids: Sequence[str]) -> Mapping[str, JobState]:
        """The committed states of ``job_ids`` (deleted ones left out), in few reads."""
        ...

    async def save_many(
        self, saves: Sequence[Save], *, urgent: bool = False
    ) -> list[Exception | None]:
        """Commit independent ``saves`` (of different jobs) in one transaction, each on
        its own: ``None`` for a save written, or the error that refused it alone (a
        ``Conflict`` when one of its claims exists; nothing of it was written). Waits
        and retries the whole call while the store cannot write, like :meth:`save`."""
        ...

    async def save_all(self, saves: Sequence[Save]) -> None:
        """Commit ``saves`` (of different jobs) as *one* unit: all of them or none.

        Raises:
            Conflict: one of the claims exists already (nothing was written).
        """
        ...


@attrs.frozen(kw_only=True)
class JobDeps:
    """Everything a job actor uses, shared by all job actors of a daemon."""

    persistence: Persistence
    runs: RunDeps
    evaluator: Evaluator
    waits: WaitPollers
    clock: Clock
    note: Callable[[JobState, datetime | None, bool], None]
    notify_dependents: Callable[[str, JobStatus], None]
    start_triggers: Callable[[StartTriggers, JobState], None]
    dependency_statuses: Callable[[JobState], tuple[Dependency, ...]]
    crash_point: Callable[[str], None] = lambda name: None
    fault: Callable[[str], None] = lambda name: None
    #: the exclusion calendar covering a slot of the job (actors/calendars.py), or None
    exclusion: Callable[[JobSpec, datetime], str | None] = lambda spec, slot: None
    passivate_after: float = 30.0
    linger: float = 1.0
    drain: Drain = attrs.field(factory=Drain)
    #: the model an ``llm`` part naming none calls (config ``llm.model``), so that its
    #: breaker is the one of every part that names that model (docs/actions-and-conditions.md)
    default_model: str = DEFAULT_MODEL


Op = Literal[
    "pause", "resume", "cancel", "run_now", "dependency_ended", "inspect", "replace", "backfill"
]


@attrs.frozen(kw_only=True)
class CommandResult:
    """The job after a command, or the reason the command was refused."""

    state: JobState
    error: str | None = None


@attrs.frozen(kw_only=True)
class JobCommand(Request[CommandResult]):
    """An operation on a job, from the engine (or another job, for dependencies)."""

    op: Op
    reason: str = ""
    trigger: str | None = None
    dep_id: str | None = None
    dep_status: JobStatus | None = None
    spec: JobSpec | None = None
    dependencies: tuple[Dependency, ...] = ()
    trigger_ids: tuple[str, ...] = ()
    first_slot: datetime | None = None
    expires_at: datetime | None = None  # replace: a renewed TTL (None keeps the old one)
    slot: datetime | None = None  # backfill: the past slot to fire


@attrs.frozen(kw_only=True)
class RunEnded:
    """From a run task to its own job actor: ``start`` ended (``end`` is ``None`` when it
    was killed before it reached the executor). A plain message, not a request: the
    actor cannot passivate while the run is tracked, so it is never lost, and the run
    task need not wait for the end's commit."""

    start: StartRun
    end: RunEnd | None
    killed: bool = False


@attrs.frozen(kw_only=True)
class Polled(Request[None]):
    """From the shared wait pollers: a poll's result the job must step (a change, the
    wait's end, or a ``quiet`` save of an unchanged one)."""

    report: PollReport


JobMessage = JobCommand | RunEnded | Polled
MESSAGE_TYPES: Sequence[type] = (JobCommand, RunEnded, Polled)
