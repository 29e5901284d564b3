"""The poll book: every wait of one condition kind as a heap entry (pure, no trio).

A wait is a :class:`WaitEntry` — its plan, its progress and its place in the poll heap —
not a task. The poller shell (:mod:`gnomon.actors.wait_pollers`) asks the book which
waits are due (:meth:`WaitBook.due`), polls them, and hands each result back
(:meth:`WaitBook.record`), which decides whether the job must hear of it:

- **deliver** (``Decision.DELIVER``): the poll reached the target and its result differs
  from the last one the job saved (another value, transient flag or summary), or it ends
  the wait (the condition held, a permanent error, ``max_polls`` reached): the job steps
  its state machine and saves a ``job.wait_tick`` or the wait's end. A poll an open
  breaker refused says nothing new about the target: never a change by itself (when a
  shared target's breaker opens and half-opens, its waits would otherwise all flip
  between "refused" and "breaker open");
- **save** (``Decision.SAVE``): unchanged, but the wait's ``save_after`` seconds have
  passed since the job last saved it: the job saves its poll count and last result
  quietly, with no event. ``save_after`` is ``save_every`` stretched by up to half of
  itself, fixed per job (a hash of its id), so waits that started together do not all
  wake their jobs in the same second;
- **quiet** (``Decision.QUIET``): unchanged; the count and last result live here only
  (a crash loses at most ``save_every`` seconds of poll counts, never the wait: its
  deadline is absolute and saved).

Polls are anchored at the wait's start (``start + n·interval``), so a slow poll does not
make the schedule drift; a poll that overruns its slot is followed at once by the next.
Times are the poller's monotonic seconds (``trio.current_time()``); ``at`` values are
wall-clock datetimes kept only to show the last poll. Removal is lazy: a removed entry
is skipped when it reaches the top of the heap.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs

from gnomon.actors.core.canon import Canon

WaitKey = tuple[str, int]
MAX_RESULTS = 1024  # distinct poll outcomes a book shares before it starts its table over


class Decision(enum.Enum):
    """What :meth:`WaitBook.record` wants done with a poll's result."""

    QUIET = "quiet"
    SAVE = "save"
    DELIVER = "deliver"


@attrs.frozen(kw_only=True)
class PollResult:
    """One poll's outcome as the book compares it."""

    value: bool | None
    summary: str = ""
    transient: bool = False
    breaker_open: bool = False

    def key(self) -> tuple[bool | None, bool, str]:
        """What must differ for a result to count as a change."""
        return (self.value, self.transient, self.summary)

    def ends_wait(self) -> bool:
        """The condition held or cannot be evaluated: the wait is over."""
        return self.value is True or (self.value is None and not self.transient)


@attrs.define(slots=True, eq=False)
class WaitEntry:
    """One wait: its plan (opaque to the book), its schedule and its progress.

    Kept small (10k waits are 10k of these): ``last`` and ``saved`` are the book's
    shared result objects (one per distinct outcome, :meth:`WaitBook.canonical`), and
    ``save_after`` is derived from the job id rather than stored.
    """

    job_id: str
    cycle: int
    plan: Any
    interval: float
    max_polls: int
    start: float
    polls: int
    saved_polls: int
    saved_at: float
    save_every: float
    n: int = 0
    last: PollResult | None = None
    last_at: datetime | None = None
    #: the last result the job saved (its key is what a change is measured against)
    saved: PollResult | None = None
    in_flight: bool = False
    removed: bool = False

    @property
    def key(self) -> WaitKey:
        return (self.job_id, self.cycle)

    @property
    def save_after(self) -> float:
        """Seconds after a save at which an unchanged result is saved anyway."""
        return self.save_every * spread(self.job_id)

    @property
    def saved_key(self) -> tuple[bool | None, bool, str] | None:
        """The key of the last result the job saved (``None``: none yet)."""
        return None if self.saved is None else self.saved.key()

    def next_due(self, now: float) -> float:
        """The next anchored slot, or ``now`` when the schedule is behind."""
        return max(now, self.start + self.n * self.interval)


def spread(job_id: str) -> float:
    """A factor in [1, 1.5) fixed by ``job_id``."""
    return 1.0 + (zlib.crc32(job_id.encode()) % 512) / 1024


class WaitBook:
    """Waits of one condition kind and their poll heap (see the module docstring).

    Args:
        save_every: seconds after which an unchanged result is saved anyway.
    """

    def __init__(self, *, save_every: float = 300.0) -> None:
        self.save_every = save_every
        # a job's wait, or its waits when it has several (one, nearly always)
        self._jobs: dict[str, WaitEntry | tuple[WaitEntry, ...]] = {}
        self._count = 0
        self._results = Canon(MAX_RESULTS)
        self._heap: list[tuple[float, int, WaitEntry]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[WaitEntry]:
        return iter([e for job_id in self._jobs for e in self._of(job_id)])

    def _of(self, job_id: str) -> tuple[WaitEntry, ...]:
        waits = self._jobs.get(job_id, ())
        return (waits,) if isinstance(waits, WaitEntry) else waits

    def get(self, job_id: str, cycle: int) -> WaitEntry | None:
        for entry in self._of(job_id):
            if entry.cycle == cycle:
                return entry
        return None

    def canonical(self, result: PollResult) -> PollResult:
        """The book's one object equal to ``result`` (waits on one target mostly see the
        same outcome: 10k waits keep one "connection refused", not 10k). The table is
        emptied when it reaches :data:`MAX_RESULTS` distinct outcomes (summaries that
        carry a time or a body are seldom equal): held results stay valid."""
        return self._results(result)

    # -- membership -------------------------------------------------------------------

    def add(
        self,
        *,
        job_id: str,
        cycle: int,
        plan: Any,
        interval: float,
        max_polls: int,
        polls: int,
        now: float,
    ) -> WaitEntry:
        """Start polling a wait at once — or, when it is in the book already (its job
        was re-activated and recovered it), keep its progress and schedule, taking the
        new plan and the larger poll count."""
        entry = self.get(job_id, cycle)
        if entry is not None:
            entry.plan, entry.interval, entry.max_polls = plan, interval, max_polls
            if polls > entry.polls:
                entry.polls = entry.saved_polls = polls
            return entry
        entry = WaitEntry(
            job_id=job_id,
            cycle=cycle,
            plan=plan,
            interval=interval,
            max_polls=max_polls,
            start=now,
            polls=polls,
            saved_polls=polls,
            saved_at=now,
            save_every=self.save_every,
        )
        self._jobs[job_id] = (*self._of(job_id), entry) if job_id in self._jobs else entry
        self._count += 1
        self._push(entry, now)
        return entry

    def remove(self, job_id: str, cycle: int) -> WaitEntry | None:
        """Stop a wait (a poll in flight finishes, but its result is dropped)."""
        entry = self.get(job_id, cycle)
        if entry is None:
            return None
        entry.removed = True
        rest = tuple(e for e in self._of(job_id) if e is not entry)
        if not rest:
            del self._jobs[job_id]
        else:
            self._jobs[job_id] = rest[0] if len(rest) == 1 else rest
        self._count -= 1
        return entry

    def of_job(self, job_id: str) -> list[WaitEntry]:
        """The job's waits in the book."""
        return list(self._of(job_id))

    # -- the heap ---------------------------------------------------------------------

    def _push(self, entry: WaitEntry, now: float) -> None:
        heapq.heappush(self._heap, (entry.next_due(now), next(self._seq), entry))

    def next_deadline(self) -> float | None:
        """When the earliest waiting poll is due; ``None`` when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][2].removed:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def due(self, now: float, limit: int) -> list[WaitEntry]:
        """Up to ``limit`` waits due at ``now``, earliest first, marked in flight."""
        out: list[WaitEntry] = []
        heap = self._heap
        while heap and len(out) < limit and heap[0][0] <= now:
            entry = heapq.heappop(heap)[2]
            if entry.removed:
                continue
            entry.in_flight = True
            out.append(entry)
        return out

    def reschedule(self, entry: WaitEntry, now: float) -> None:
        """Put a polled wait back in the heap at its next slot (unless it was removed)."""
        entry.in_flight = False
        if not entry.removed:
            self._push(entry, now)

    def requeue_in_flight(self, now: float) -> None:
        """After the poller restarted: every wait it was polling is due again at once."""
        for entry in self:
            if entry.in_flight:
                entry.in_flight = False
                heapq.heappush(self._heap, (now, next(self._seq), entry))

    # -- results ----------------------------------------------------------------------

    def record(self, entry: WaitEntry, result: PollResult, now: float, at: datetime) -> Decision:
        """Count one poll of ``entry`` and decide whether its job must hear of it."""
        entry.polls += 1
        entry.n += 1
        result = self.canonical(result)  # the new one (and its text) is freed if equal
        entry.last, entry.last_at = result, at
        saved = entry.saved
        changed = not result.breaker_open and (saved is None or result.key() != saved.key())
        if result.ends_wait() or (entry.max_polls and entry.polls >= entry.max_polls) or changed:
            decision = Decision.DELIVER
        elif now - entry.saved_at >= entry.save_after:
            decision = Decision.SAVE
        else:
            return Decision.QUIET
        self.mark_saved(entry, now)
        return decision

    def mark_saved(self, entry: WaitEntry, now: float) -> None:
        """The job saved ``entry``'s progress (its count and last result) at ``now``."""
        entry.saved_polls = entry.polls
        entry.saved_at = now
        if entry.last is not None and not entry.last.breaker_open:
            entry.saved = entry.last

    def unsaved(self, job_id: str) -> list[WaitEntry]:
        """The job's waits whose poll count is ahead of what the job saved."""
        return [e for e in self._of(job_id) if e.polls > e.saved_polls]
