"""The job directory: every live job, and an actor only for those with work to do.

Passivation (Orleans/Akka "virtual actors"): a job actor that is idle — no run or wait
in flight, nothing due soon — records its next wake time here and returns. The
directory keeps one deadline heap for such jobs (a few hundred bytes each instead of an
actor's ~9 KB) and re-activates a job ``lead`` seconds before it is due, or at once when
someone sends it a message. An address is therefore a job id, not an ``ActorRef``:
everything goes through :meth:`JobDirectory.ask`, which activates as needed and retries
once when the message lands in the mailbox of an actor that was just passivating (such a
message comes back as ``ActorGone`` — never silently lost, which is why only requests,
never plain tells, are routed to job actors).

The directory also owns the live-name index (names are unique among live jobs) and the
reverse ``depends_on`` index used to notify dependents.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import trio

from gnomon.runtime.actor import ActorContext, ActorRef, Request
from gnomon.runtime.clock import Clock
from gnomon.runtime.errors import ActorGone, Conflict, InvalidInput, NotFound
from gnomon.runtime.model.enums import TERMINAL_STATUSES, JobStatus
from gnomon.runtime.model.job import MIN_ID_PREFIX
from gnomon.runtime.registry import Registry
from gnomon.runtime.supervisor import ChildSpec, Supervisor

if TYPE_CHECKING:
    from gnomon.actors.job.actor import Handoff
    from gnomon.actors.job.batch import BatchFirer

R = TypeVar("R")
KIND = "job"
MIN_PREFIX = MIN_ID_PREFIX
ACTIVATION_RETRY_CAP = 60.0
log = logging.getLogger("gnomon.directory")


@attrs.define
class JobEntry:
    """What the directory knows of a live job without loading it."""

    id: str
    name: str
    status: JobStatus
    wake: datetime | None = None
    owner: str = ""
    depends_on: tuple[str, ...] = ()
    version: int = 0


def _share_strings(entry: JobEntry, old: JobEntry) -> None:
    """Let ``entry`` (a job's new state) hold ``old``'s strings where they are equal, so
    that those of a state decoded from the store are freed with it (docs/performance.md,
    W6: 10k waiting jobs)."""
    entry.id = old.id
    if entry.name == old.name:
        entry.name = old.name
    if entry.owner == old.owner:
        entry.owner = old.owner


@attrs.frozen
class _Rearm:
    """Told to the directory's timer loop: the earliest wake may have changed."""


class JobDirectory:
    """Index, deadline heap and router of job actors (see the module docstring).

    Args:
        supervisor: the ``simple_one_for_one`` supervisor of job actors.
        spawn: builds the child spec of job ``id`` (its actor loads state from the store).
        lead: seconds before a wake time at which a passivated job is activated.
        on_forget: called with the id of every job cleared or pruned.
        elsewhere: in a cluster, another node's job as last seen in the database.
        on_end: called with a job's id and final status when it ends (in a cluster, the
            news for its dependents on other nodes).
        batch: the batch firer, which fires due plain jobs in chunks instead of
            activating their actors (``engine.batch_firing``; docs/engine.md); a
            provider, as the firer is built after the directory it uses.
        batch_spec: the firer's child spec, started under "jobs" by the timer.
    """

    def __init__(
        self,
        *,
        supervisor: Supervisor,
        registry: Registry,
        spawn: Callable[..., ChildSpec],
        clock: Clock,
        lead: float = 1.0,
        on_forget: Callable[[str], None] = lambda job_id: None,
        elsewhere: Callable[[str], JobEntry | None] = lambda job_id: None,
        on_end: Callable[[str, JobStatus], None] = lambda job_id, status: None,
        batch: Callable[[], BatchFirer | None] = lambda: None,
        batch_spec: ChildSpec | None = None,
    ) -> None:
        self._supervisor = supervisor
        self._on_forget = on_forget
        self._registry = registry
        self._spawn = spawn
        self._clock = clock
        self._lead = lead
        self._entries: dict[str, JobEntry] = {}
        self._names: dict[str, str] = {}
        self._dependents: dict[str, set[str]] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._timer: ActorRef[Any] | None = None
        self.activations = 0
        self.status_counts: Counter[JobStatus] = Counter()
        self._failures: dict[str, int] = {}
        self._elsewhere = elsewhere
        self._on_end = on_end
        self._batch = batch
        self._batch_spec = batch_spec

    # -- index ----------------------------------------------------------------------

    def load(self, entries: Iterable[JobEntry]) -> None:
        """Fill the index at boot (before the timer loop starts)."""
        for entry in entries:
            self.note(entry, passivate=True)

    def note(self, entry: JobEntry, *, passivate: bool = False) -> None:
        """Record a job's current name, status, wake time and dependencies.

        ``passivate``: the job has no actor from now on (it is passivating, or was loaded
        at boot), so the timer loop must activate it at ``entry.wake``. Active jobs time
        themselves and stay off the heap.
        """
        old = self._entries.get(entry.id)
        terminal = entry.status in TERMINAL_STATUSES  # (the property, once: a hot path)
        self.status_counts[entry.status] += 1
        if old is not None:
            self.status_counts[old.status] -= 1
            entry.version = old.version + 1
            _share_strings(entry, old)
            if (old.name != entry.name or terminal) and self._names.get(old.name) == entry.id:
                del self._names[old.name]
            for dep in old.depends_on:
                self._dependents.get(dep, set()).discard(entry.id)
        self._entries[entry.id] = entry
        if old is not None and terminal and old.status not in TERMINAL_STATUSES:
            self._on_end(entry.id, entry.status)
        if not terminal:
            self._names[entry.name] = entry.id
        for dep in entry.depends_on:
            self._dependents.setdefault(dep, set()).add(entry.id)
        if passivate and entry.wake is not None and not terminal:
            deadline = self._clock.deadline_for(entry.wake)
            heapq.heappush(self._heap, (deadline, entry.version, entry.id))
            if self._heap[0][2] == entry.id and self._timer is not None:
                with contextlib.suppress(ActorGone):
                    self._timer.try_tell(_Rearm())

    def canonical(self, job_id: str, name: str) -> tuple[str, str]:
        """The index's own ``job_id`` and ``name`` strings when it holds that job under
        that name, else the arguments: what a wait keeps for as long as it polls then
        shares the index's strings instead of those decoded with a loaded state."""
        entry = self._entries.get(job_id)
        if entry is None:
            return job_id, name
        return entry.id, entry.name if entry.name == name else name

    def forget(self, job_id: str) -> None:
        """Drop a deleted job from every index (and tell ``on_forget``: its metrics go)."""
        self._on_forget(job_id)
        if (batch := self._batch()) is not None:
            batch.forget(job_id)
        entry = self._entries.pop(job_id, None)
        if entry is None:
            return
        self.status_counts[entry.status] -= 1
        if self._names.get(entry.name) == job_id:
            del self._names[entry.name]
        for dep in entry.depends_on:
            self._dependents.get(dep, set()).discard(job_id)

    @property
    def live_count(self) -> int:
        """Jobs that are not terminal."""
        return sum(n for status, n in self.status_counts.items() if not status.terminal)

    def get(self, job_id: str) -> JobEntry | None:
        """The index entry of a job, or ``None``."""
        return self._entries.get(job_id)

    def lookup(self, job_id: str) -> JobEntry | None:
        """The index entry of a job, else what is known of another node's job."""
        return self._entries.get(job_id) or self._elsewhere(job_id)

    def entries(self) -> list[JobEntry]:
        """Every indexed job (live and not yet pruned)."""
        return list(self._entries.values())

    def live_name(self, name: str) -> str | None:
        """The id of the live job called ``name``, if any."""
        return self._names.get(name)

    def dependents(self, job_id: str) -> list[str]:
        """Ids of the jobs that list ``job_id`` in ``depends_on``."""
        return sorted(self._dependents.get(job_id, ()))

    def resolve(self, ref: str) -> str:
        """An id, a live job's name, a finished job's name (the latest created of that
        name still indexed) or a unique id prefix → the job id.

        Raises:
            NotFound: nothing matches.
            InvalidInput: the prefix matches several jobs (they are named).
        """
        if ref in self._entries:
            return ref
        by_name = self._names.get(ref)
        if by_name is not None:
            return by_name
        finished = [e.id for e in self._entries.values() if e.name == ref]
        if finished:
            return finished[-1]
        matches = [i for i in self._entries if i.startswith(ref)] if len(ref) >= MIN_PREFIX else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(sorted(matches)[:5])
            raise InvalidInput(
                f"job reference {ref!r} is ambiguous: it prefixes {len(matches)} ids ({shown})",
                token=ref,
                accepted=["a full id", "a longer id prefix", "a live job's name"],
            )
        raise NotFound(
            f"no job {ref!r}",
            hint="gnomon jobs list --all shows ids and names",
        )

    # -- routing --------------------------------------------------------------------

    def active(self, job_id: str) -> ActorRef[Any] | None:
        """The job's actor if it is active now."""
        ref = self._registry.lookup(KIND, job_id)
        return None if ref is None or ref.mailbox.closed else ref

    async def activate(self, job_id: str) -> ActorRef[Any]:
        """The job's actor, starting it if it is passivated — or taking it from the batch
        firer, with the state, timers and runs the batch holds.

        Raises:
            NotFound: the directory does not know the job.
        """
        if job_id not in self._entries:
            raise NotFound(f"no job {job_id!r}")
        handoff = None
        if (batch := self._batch()) is not None and batch.holds(job_id):
            handoff = await batch.release(job_id)
        return await self._start(job_id, handoff)

    async def start_actor(self, job_id: str, handoff: Handoff | None) -> None:
        """Start job ``job_id``'s actor for the batch firer, which let go of the job (from
        ``handoff``, or from its committed state); a failure is retried like a due
        activation's."""
        entry = self._entries.get(job_id)
        if entry is None:
            return
        try:
            await self._start(job_id, handoff)
        except Exception as exc:
            self._retry_later(job_id, entry.version, trio.current_time(), exc)
        else:
            self._failures.pop(job_id, None)

    async def _start(self, job_id: str, handoff: Handoff | None) -> ActorRef[Any]:
        for _ in range(100):
            ref = self.active(job_id)
            if ref is not None:
                return ref
            spec = self._spawn(job_id) if handoff is None else self._spawn(job_id, handoff)
            try:
                ref = self._supervisor.start_child_soon(spec)
            except Conflict:  # the passivating incarnation is still being removed
                await trio.lowlevel.checkpoint()
                continue
            self.activations += 1
            return ref
        raise ActorGone(f"job {job_id} could not be activated")

    async def ask(
        self, job_id: str, make: Callable[[], Request[R]], timeout: float | None = 30.0
    ) -> R:
        """Ask job ``job_id``'s actor, activating it; retried once across a passivation."""
        for attempt in range(2):
            ref = await self.activate(job_id)
            try:
                return await ref.ask(make(), timeout=timeout)
            except ActorGone:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- timer loop -----------------------------------------------------------------

    def _next_deadline(self) -> float:
        while self._heap:
            deadline, version, job_id = self._heap[0]
            entry = self._entries.get(job_id)
            if entry is None or entry.version != version or entry.status.terminal:
                heapq.heappop(self._heap)
                continue
            return deadline - self._lead
        return math.inf

    async def _activate_due(self) -> None:
        now = trio.current_time()
        batch = self._batch()
        batch = batch if batch is not None and batch.running() else None
        handed: list[str] = []
        while self._heap and self._next_deadline() <= now:
            _, version, job_id = heapq.heappop(self._heap)
            if self.active(job_id) is not None:
                continue
            if batch is not None and self._entries[job_id].status is JobStatus.PENDING:
                if not batch.holds(job_id):
                    handed.append(job_id)
                continue
            try:
                await self.activate(job_id)
            except Exception as exc:  # a job that cannot start must not take the timer down
                self._retry_later(job_id, version, now, exc)
            else:
                self._failures.pop(job_id, None)
        if batch is not None and handed:
            batch.hand(handed)

    def _retry_later(self, job_id: str, version: int, now: float, exc: Exception) -> None:
        failures = self._failures[job_id] = self._failures.get(job_id, 0) + 1
        delay = min(ACTIVATION_RETRY_CAP, 2.0 ** (failures - 1))
        log.warning(
            "job %s failed to activate (%s: %s); retrying in %gs",
            job_id,
            type(exc).__name__,
            exc,
            delay,
        )
        heapq.heappush(self._heap, (now + delay + self._lead, version, job_id))

    async def run_timer(self, ctx: ActorContext[Any]) -> None:
        """The directory's timer actor: activates passivated jobs shortly before they are due."""
        self._timer = ctx.ref
        if self._batch_spec is not None:
            with contextlib.suppress(Conflict):  # running already (this timer restarted)
                self._supervisor.start_child_soon(self._batch_spec)
        try:
            while True:
                await self._activate_due()
                await ctx.inbox.receive_until(self._next_deadline())
        finally:
            self._timer = None

    @property
    def heap_size(self) -> int:
        """Entries in the deadline heap (stale ones included until popped)."""
        return len(self._heap)
