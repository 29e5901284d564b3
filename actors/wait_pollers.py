"""Shared wait pollers: one actor per condition kind serves every wait of that kind.

A wait is an entry in its kind's poll book (:mod:`gnomon.actors.core.wait_book`), not a task:
the kind's poller actor sleeps until the earliest poll is due, starts the due polls (at
most ``max_in_flight`` at once, each a short task bounded by its per-poll timeout and
gated by the target's breaker, :func:`~gnomon.actors.waiter.poll_once`), and hands each
result to the book, which decides (see there):

- deliver or save: the result goes to the job (``deliver``, which activates a
  passivated job and waits for its commit) — a ``job.wait_tick`` for a change, a quiet
  save of the poll count for the ``save_every`` bound;
- quiet: nothing durable; live subscribers and the metrics see the tick as an
  ephemeral notification (``notify``; its payload says ``"ephemeral": true``).

So a waiting job needs no actor of its own: it passivates, and is activated when its
wait has news or its deadline is due. The book outlives its actor: a poller that
crashes is restarted by the ``waiters`` supervisor and polls again what it was polling.
Cancellation: stopping a poller actor cancels its polls in flight (their process
groups are killed, probe permits given back); their waits stay in the book.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.core.canon import Canon
from gnomon.actors.core.wait_book import Decision, PollResult, WaitBook, WaitEntry
from gnomon.actors.exec.interface import Evaluator
from gnomon.actors.waiter import PollReport, WaitPlan, poll_once
from gnomon.runtime.actor import ActorContext, ActorRef
from gnomon.runtime.clock import Clock
from gnomon.runtime.errors import ActorGone, Conflict, GnomonError
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.payloads import WaitTick
from gnomon.runtime.model.state import JobState
from gnomon.runtime.restarts import Restart
from gnomon.runtime.supervisor import Supervisor
from gnomon.runtime.supervisor_cells import ChildSpec

KIND = "wait"
MAX_IN_FLIGHT = 256
log = logging.getLogger("gnomon.waits")

Deliver = Callable[[str, PollReport], Awaitable[None]]
Notify = Callable[[WaitPlan, PollReport], None]


@attrs.frozen
class _Rearm:
    """Told to a poller: its earliest poll may have changed."""


class WaitPollers:
    """Every wait of a daemon, by condition kind (see the module docstring).

    Args:
        supervisor: the ``waiters`` supervisor the poller actors run under.
        deliver: gives a result to its job (awaits the job's commit); raises
            ``GnomonError`` when the job is gone or stopping.
        notify: publishes an unchanged result as a non-durable notification.
        save_every: seconds after which an unchanged result is saved anyway.
        names: a job's id and name → the directory's equal strings (what the waits keep).
    """

    def __init__(
        self,
        *,
        supervisor: Supervisor,
        evaluator: Evaluator,
        breakers: Breakers,
        clock: Clock,
        deliver: Deliver,
        notify: Notify = lambda plan, report: None,
        save_every: float = 300.0,
        max_in_flight: int = MAX_IN_FLIGHT,
        names: Callable[[str, str], tuple[str, str]] = lambda job_id, name: (job_id, name),
    ) -> None:
        self._supervisor = supervisor
        self._evaluator = evaluator
        self._breakers = breakers
        self._clock = clock
        self._deliver = deliver
        self._notify = notify
        self._save_every = save_every
        self._max_in_flight = max_in_flight
        #: a job's id and name as the directory holds them (a wait shares its strings)
        self.names = names
        #: one object per distinct condition, owner, … that waits hold (see ``Canon``)
        self.canon = Canon()
        self._books: dict[str, WaitBook] = {}
        self._refs: dict[str, ActorRef[Any]] = {}

    # -- the job actor's side (synchronous, never blocks) -----------------------------

    def start(self, plan: WaitPlan, *, max_polls: int = 0) -> None:
        """Poll ``plan``'s condition from now on (idempotent: a wait already in the book
        keeps its progress and schedule)."""
        kind = plan.condition.TAG
        book = self._books.get(kind)
        if book is None:
            book = self._books[kind] = WaitBook(save_every=self._save_every)
        book.add(
            job_id=plan.job_id,
            cycle=plan.cycle,
            plan=plan,
            interval=plan.poll_interval,
            max_polls=max_polls,
            polls=plan.polls_done,
            now=trio.current_time(),
        )
        self._wake(kind)

    def stop(self, job_id: str, cycle: int) -> None:
        """Stop polling fire ``cycle`` of a job (a poll in flight is dropped)."""
        for book in self._books.values():
            book.remove(job_id, cycle)

    def entries(self, job_id: str) -> list[WaitEntry]:
        """The job's waits in the books (their in-memory progress)."""
        return [e for book in self._books.values() for e in book.of_job(job_id)]

    def unsaved(self, job_id: str) -> list[WaitEntry]:
        """The job's waits whose poll count is ahead of the job's saved state."""
        return [e for book in self._books.values() for e in book.unsaved(job_id)]

    def mark_saved(self, entry: WaitEntry) -> None:
        """The job saved ``entry``'s progress."""
        self._books[entry.plan.condition.TAG].mark_saved(entry, trio.current_time())

    def __len__(self) -> int:
        return sum(len(b) for b in self._books.values())

    def overlay(self, state: JobState) -> JobState:
        """``state`` with its waits' unsaved poll count and last result (``jobs show``)."""
        entries = {e.cycle: e for e in self.unsaved(state.id) if e.last is not None}
        if not entries:
            return state
        fires = []
        for fire in state.fires:
            entry = entries.get(fire.cycle)
            if entry is not None and entry.last is not None and fire.wait is not None:
                last = entry.last.summary[:200] or _label_of(entry.last.value)
                wait = attrs.evolve(
                    fire.wait, polls=entry.polls, last_result=last, last_poll_at=entry.last_at
                )
                fire = attrs.evolve(fire, wait=wait)
            fires.append(fire)
        return attrs.evolve(state, fires=tuple(fires))

    def _wake(self, kind: str) -> None:
        ref = self._refs.get(kind)
        if ref is None or ref.mailbox.closed:
            try:
                ref = self._supervisor.start_child_soon(self._spec(kind))
            except Conflict:  # its actor is restarting: it rereads the book when it starts
                return
            self._refs[kind] = ref
        with contextlib.suppress(ActorGone):
            ref.try_tell(_Rearm())

    # -- the poller actors ------------------------------------------------------------

    def _spec(self, kind: str) -> ChildSpec:
        return ChildSpec(
            id=f"pollers.{kind}",
            kind=KIND,
            start=lambda ctx: self._run(kind, ctx),
            restart=Restart.PERMANENT,
            shutdown=10.0,
            mailbox_size=4,
        )

    async def _run(self, kind: str, ctx: ActorContext[Any]) -> None:
        """The poller of ``kind``: start due polls, sleep until the next is due (or a
        rearm: a new wait, or a freed slot when all ``max_in_flight`` were taken)."""
        book = self._books[kind]
        self._refs[kind] = ctx.ref  # a restarted incarnation is the one to wake
        book.requeue_in_flight(trio.current_time())
        ctx.ready()
        room = _Room(self._max_in_flight, ctx.ref)
        async with trio.open_nursery() as polls:
            while True:
                for entry in book.due(trio.current_time(), room.free):
                    room.free -= 1
                    polls.start_soon(self._poll, book, entry, room)
                nxt = book.next_deadline()
                room.until = math.inf if nxt is None or not room.free else nxt
                await ctx.inbox.receive_until(room.until)  # raises StopRequested on a stop

    async def _poll(self, book: WaitBook, entry: WaitEntry, room: _Room) -> None:
        plan: WaitPlan = entry.plan
        try:
            verdict, refused = await poll_once(
                plan, entry.polls + 1, self._evaluator, self._breakers
            )
            if entry.removed:
                return
            result = PollResult(
                value=verdict.value,
                summary=verdict.summary,
                transient=verdict.transient,
                breaker_open=refused,
            )
            at = self._clock.now()
            decision = book.record(entry, result, trio.current_time(), at)
            report = PollReport(
                cycle=entry.cycle,
                poll=entry.polls,
                at=at,
                verdict=verdict,
                breaker_open=refused,
                quiet=decision is Decision.SAVE,
            )
            if decision is Decision.QUIET:
                self._notify(plan, report)
                return
            try:
                await self._deliver(entry.job_id, report)
            except GnomonError as exc:  # the job is gone or stopping: its next start resumes
                log.debug("wait %s.%s dropped: %s", entry.job_id, entry.cycle, exc)
                book.remove(entry.job_id, entry.cycle)
        finally:
            book.reschedule(entry, trio.current_time())
            room.give(entry.next_due(trio.current_time()))


class _Room:
    """Free poll slots of one poller and when its loop sleeps until: a poll that ends
    wakes the loop when it freed the only slot or is due again before that."""

    def __init__(self, size: int, ref: ActorRef[Any]) -> None:
        self.free = size
        self.until = math.inf
        self._ref = ref

    def give(self, due: float) -> None:
        self.free += 1
        if self.free == 1 or due < self.until:
            self.until = due
            with contextlib.suppress(ActorGone):
                self._ref.try_tell(_Rearm())


def _label_of(value: bool | None) -> str:
    return {True: "true", False: "false", None: "error"}[value]


def _label(report: PollReport) -> str:
    return "breaker_open" if report.breaker_open else _label_of(report.verdict.value)


def tick_draft(plan: WaitPlan, report: PollReport) -> EventDraft:
    """The non-durable ``job.wait_tick`` of an unchanged poll (payload ``ephemeral``)."""
    summary = report.verdict.summary[:200]
    label = _label(report)
    return EventDraft(
        type=EventType.JOB_WAIT_TICK,
        timestamp=report.at,
        job_id=plan.job_id,
        name=plan.job_name,
        owner=str(plan.owner),
        status=JobStatus.WAITING,
        message=summary or label,
        payload=WaitTick(plan.condition.TAG, label).write(
            {"poll": report.poll, "cycle": report.cycle, "ephemeral": True}
        ),
    )
