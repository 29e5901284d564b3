"""The batch firer: plain due jobs fired in chunks, without activating their actors.

When a passivated job's wake time is near, the directory hands it here instead of
activating its actor (``engine.batch_firing``). The firer loads the states in bulk and
keeps the *plain* ones (``waits.batchable``: pending or waiting, nothing queued, no fire
in flight but waits the pollers hold, ``Recover`` changes nothing) — whether their slot
starts a run or a wait, or they only wait (handed in by :meth:`BatchFirer.polled` with a
wait's durable result, stepped and committed in chunks, ``actors/job/batch_polls.py``);
any other goes to its actor at once. Each plain job is stepped by its own
:class:`~gnomon.actors.job.core.JobCore` (the actor's core) when its timer is due; the
fire units of the jobs due together are committed ``chunk`` at a time with
``Persistence.save_many`` (a refused unit fails alone), up to ``depth`` chunks in flight
(``actors/job/pipeline.py``: the next chunk is staged while earlier ones commit, and the
loop takes in jobs, results and ends meanwhile; a job is busy until its commit); each
chunk's runs and waits start once it is committed (a job whose wait started passivates:
its results come back through :meth:`BatchFirer.polled`), and the runs' ends are
committed in chunks too (urgent lane), each
with the slots it made due behind it (``JobCore.end_run``: pipelined recurring jobs; a slot
that came before its job's run began waits for that run instead of going to the actor).

**One owner.** A job is on the heap, here, with its actor, or finished — never two at
once. After its run a plain job stays until its next timer (within ``passivate_after``)
or passivates; one no longer plain (a retry, an overlapping fire) goes to its actor with
its core, its runs (cancel scopes and all) and unstepped ends (``Handoff``); so does one
a command is for (:meth:`BatchFirer.release`: waits for a commit in flight, never for
the run). A unit the store refuses (a claim taken, a fence) restarts its job's actor.

Cancellation and errors: a stop waits for the fires in flight, fires nothing more,
passivates the idle jobs and drains
the runs as a job actor does (the daemon's ``Drain``; commands refused with ``NotFound``);
a crash starts every held job's actor afresh from the store (its runs are cancelled).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Protocol

import trio

from gnomon.actors.job import waits
from gnomon.actors.job.actor import Handoff
from gnomon.actors.job.batch_polls import PollQueue, answer_polls, deliver, stage_polls
from gnomon.actors.job.core import perform
from gnomon.actors.job.held import DueHeap, Held, Sealed, adopt, ring_all, seal, sort_due
from gnomon.actors.job.pipeline import DEPTH, Pipeline
from gnomon.actors.job.ports import JobDeps, RunEnded
from gnomon.actors.job.run_pool import RunPool
from gnomon.actors.job.run_tracker import Deliver
from gnomon.actors.job.units import Unit
from gnomon.actors.waiter import PollReport
from gnomon.runtime.actor import ActorContext, ActorRef
from gnomon.runtime.errors import ActorGone, NotFound

DEFAULT_CHUNK = 256
BATCH_ID = "batch-firer"  # its child id under the "jobs" supervisor


class Actors(Protocol):
    """The directory, as the firer uses it: start a job's actor (from a handoff, or
    ``None``: its committed state), find a job's active actor."""

    async def start_actor(self, job_id: str, handoff: Handoff | None) -> None: ...

    def active(self, job_id: str) -> ActorRef[Any] | None: ...


async def _let_go(held: dict[str, Held | None], actors: Actors) -> None:
    """After a crash: every held job to a fresh actor (from the committed state); a
    command waiting for a commit that will not be answered now finds the job let go."""
    for job_id in list(held):
        job = held.pop(job_id, None)
        if job is not None:
            job.settle()
        with contextlib.suppress(Exception):
            await actors.start_actor(job_id, None)


async def in_chunks(
    save: Callable[..., Awaitable[set[str]]], sealed: list[Sealed], chunk: int, *, urgent: bool
) -> set[str]:
    """``save`` sealed units ``chunk`` at a time, one after another; the jobs refused."""
    parts = [sealed[at : at + chunk] for at in range(0, len(sealed), chunk)]
    return {job for part in parts for job in await save(part, urgent=urgent)}


_WAKE = object()  # told to the firer: jobs were handed in or runs ended


class BatchFirer:
    """The batch firer (see the module docstring).

    Args:
        deps: the job actors' shared ports (the firer steps jobs with the same core).
        actors: starts jobs' actors and finds them (the directory).
        chunk: units per transaction (``engine.batch_chunk``).
        depth: fire chunks committing at once (``actors/job/pipeline.py``).
    """

    def __init__(
        self, deps: JobDeps, actors: Actors, chunk: int = DEFAULT_CHUNK, depth: int = DEPTH
    ) -> None:
        self.deps = deps
        self.chunk = max(1, chunk)
        self._actors = actors
        self.held: dict[str, Held | None] = {}  # None: handed in, still loading
        self._intake: list[str] = []
        self._ended: set[str] = set()
        self._polls = PollQueue()
        self._heap = DueHeap()
        self._ref: ActorRef[Any] | None = None
        self._pool: RunPool | None = None  # the runs of the jobs held, in its nursery
        self._pipe = Pipeline(depth, self._wake)  # the fire chunks committing
        self._loaded = trio.Event()
        self._stopping = False
        self._woken = False  # a wake message is on its way to the loop
        self.fired = 0  # fire units committed (for tests and the bench)

    # -- the directory's side -----------------------------------------------------------

    def running(self) -> bool:
        """Taking jobs (not stopping)."""
        return self._ref is not None and not self._stopping

    def holds(self, job_id: str) -> bool:
        return job_id in self.held

    def hand(self, job_ids: Iterable[str]) -> None:
        """Take ``job_ids`` (due soon, passivated): they are this firer's from now on
        (a stopping firer takes none: they stay in the store for the next start)."""
        if self._stopping:
            return
        for job_id in job_ids:
            if job_id not in self.held:
                self.held[job_id] = None
                self._intake.append(job_id)
        self._wake()

    async def polled(self, job_id: str, report: PollReport) -> bool:
        """Step a wait's result for a job no actor holds, with others' (``batch_polls``):
        ``True`` once committed; ``False``: its actor must (it has or got one; a stop)."""
        if not self.running() or self._actors.active(job_id) is not None:
            return False
        self.hand((job_id,))
        return await deliver(self._polls, job_id, report, self._wake)

    async def release(self, job_id: str) -> Handoff | None:
        """Give up job ``job_id`` for its actor: what the actor starts from (``None``:
        not held). Waits for a commit of the job in flight, never for its run.

        Raises:
            NotFound: the firer is stopping and drains the job's run (as an actor would).
        """
        while True:
            if self._stopping and self.held.get(job_id):
                raise NotFound(f"job {job_id} is shutting down")
            held = self.held.get(job_id, False)
            if held is False:
                return None
            if held is None:
                await self._loaded.wait()
                continue
            assert isinstance(held, Held)
            if held.busy:
                await held.wait_settled().wait()
                continue
            return self._handoff(held)

    def forget(self, job_id: str) -> None:
        """The job is gone from the directory (cleared, its partition released): drop it
        (a run in flight ends unrecorded here; the store's fence refuses its end)."""
        held = self.held.pop(job_id, None)
        self._polls.answer(job_id, False)
        if held is not None:
            for run_id in list(held.runs.slots):
                held.runs.kill(run_id, "the job left this node")

    def _handoff(self, held: Held) -> Handoff:
        del self.held[held.id]
        self._polls.answer(held.id, False)  # its actor steps them (the caller asks it)
        ends, held.ends = tuple(held.ends), []
        return Handoff(core=held.core, runs=held.runs.slots, ends=ends)

    def _wake(self) -> None:
        """Wake the loop: one message until it is received (a burst is one loop pass)."""
        if self._ref is not None and not self._woken:
            with contextlib.suppress(ActorGone):
                self._woken = self._ref.try_tell(_WAKE)

    # -- the loop -----------------------------------------------------------------------

    async def run(self, ctx: ActorContext[Any]) -> None:
        """The firer's actor (see the module docstring for stop and crash)."""
        self._ref, self._woken = ctx.ref, False  # (a restart has a new mailbox)
        try:
            async with trio.open_nursery() as nursery:
                self._pool = RunPool(nursery)
                self._pipe.bind(nursery)
                while not ctx.stop_requested:
                    await ctx.inbox.receive_until(self._next_deadline(), draining=True)
                    self._woken = False  # the news is in _intake/_ended; later news wakes again
                    await self._take_intake()
                    await self._step_polls()
                    if self._ended:  # after the fires in flight, as before they were (W1)
                        await self._pipe.idle()
                    await self._end_runs()
                    await self._fire_due()
                await self._drain(ctx)
        except Exception:
            self._polls.answer_all(False)
            with trio.CancelScope(shield=True):
                await _let_go(self.held, self._actors)
            raise
        finally:
            self._ref = None

    def _next_deadline(self) -> float:
        if self._intake or self._ended or self._polls:
            return -math.inf
        return self._heap.next_deadline(self.held)

    async def _drain(self, ctx: ActorContext[Any]) -> None:
        """Stop: fire nothing more; the runs finish or the daemon's drain interrupts them
        (as a job actor's), their ends are committed; every job goes back to the heap."""
        await self._pipe.idle()  # the fires in flight are committed and performed first
        self._stopping = True
        self._polls.answer_all(False)
        for job_id, held in list(self.held.items()):
            if held is None:  # handed in, never loaded: still on the store, fired later
                del self.held[job_id]
            else:
                await self._settle(held)
        members = [held.runs for held in self.held.values() if held is not None]
        for member in members:
            self.deps.drain.join(member)
        try:
            while self.held:
                if self._ended:
                    await self._end_runs()
                    continue
                await ctx.inbox.receive_until(math.inf, draining=True)
                self._woken = False
        finally:
            for member in members:
                self.deps.drain.leave(member)

    async def _take_intake(self) -> None:
        """Load the jobs handed in; keep the plain ones, start the others' actors."""
        if not self._intake:
            return
        ids, self._intake = self._intake, []
        to_actor: list[str] = []
        try:
            states = await self.deps.persistence.load_many(ids)
            now = self.deps.clock.now()
            for job_id in ids:
                if job_id not in self.held:
                    continue  # forgotten meanwhile
                state = states.get(job_id)
                if state is None:
                    del self.held[job_id]
                    continue
                self.deps.fault("job.load")
                held = None
                if waits.batchable(self.deps, state):
                    assert self._pool is not None
                    held = adopt(self.deps, state, now, self._pool, self._deliverer(job_id))
                if held is None:
                    del self.held[job_id]
                    to_actor.append(job_id)
                else:
                    self.held[job_id] = held
                    self._heap.push(held)
        finally:  # every job handed in is settled now (or the firer crashes)
            self._loaded.set()
            self._loaded = trio.Event()
        for job_id in to_actor:
            await self._actors.start_actor(job_id, None)

    def _deliverer(self, job_id: str) -> Deliver:
        async def deliver(msg: RunEnded) -> None:
            held = self.held.get(job_id)
            if held is not None:
                held.ends.append(msg)
                self._ended.add(job_id)
                self._wake()
                return
            # handed over, its actor started but not yet adopting the run: its mailbox
            ref = self._actors.active(job_id)
            if ref is not None:
                with contextlib.suppress(ActorGone):
                    await ref.tell(msg)

        return deliver

    # -- firing and ending --------------------------------------------------------------

    async def _fire_due(self) -> None:
        """Step the held jobs due, commit chunk by chunk with several in flight (the loop
        goes on; ``actors/job/pipeline.py``), each rung and sealed in one go (``ring_all``)."""
        mono = trio.current_time()
        due, ends, to_actor = sort_due(list(self._heap.pop_due(mono, self.held)), mono)
        self._ended.update(held.id for held in ends)  # the end, then the slot
        for held in to_actor:  # its slot while its run is in flight: the actor decides
            await self._actors.start_actor(held.id, self._handoff(held))

        async def commit(sealed: list[Sealed]) -> None:
            await self._save(sealed, urgent=False)
            self.deps.crash_point("batch_after_chunk_commit")

        for at in range(0, len(due), self.chunk):
            if at:
                self.deps.crash_point("batch_between_chunks")
            part = due[at : at + self.chunk]
            await self._pipe.submit(partial(ring_all, self.held, part, mono), commit)

    async def _step_polls(self) -> None:
        """Step the wait results queued for held jobs, commit them in chunks (all sealed
        at once: a job stepped is busy until its chunk is committed)."""
        units, answers = stage_polls(self.deps, self.held, self._polls.take_all())
        refused = await in_chunks(self._save, seal(units), self.chunk, urgent=False)
        if units:
            self.deps.crash_point("batch_after_polls_commit")
        answer_polls(answers, refused)

    async def _end_runs(self) -> None:
        """Step the runs that ended and commit their units in chunks (urgent lane)."""
        ids, self._ended = self._ended, set()
        units: list[tuple[Held, Unit]] = []
        for job_id in ids:
            held = self.held.get(job_id)
            if held is None or held.busy:
                continue
            units.append((held, held.end_unit(self.deps, ring=not self._stopping)))
        await in_chunks(self._save, seal(units), self.chunk, urgent=True)

    async def _save(self, sealed: list[Sealed], *, urgent: bool) -> set[str]:
        """Save units sealed by ``held.seal`` (their jobs busy) as one transaction, then
        perform each committed unit's effects and settle its job; a refused unit's job
        goes to a fresh actor (returned)."""
        refused: set[str] = set()
        self.deps.fault("job.before_save")
        saves = [save for _, _, save in sealed if save is not None]
        results = iter(await self.deps.persistence.save_many(saves, urgent=urgent) if saves else ())
        for held, unit, save in sealed:
            error = next(results) if save is not None else None
            held.settle()
            if error is not None:
                refused.add(held.id)
                self.held.pop(held.id, None)
                await self._actors.start_actor(held.id, None)
                continue
            if unit.claims:
                self.fired += 1
            for effect in held.core.committed(unit):
                perform(held.core, held.runs, effect)
            await self._settle(held, noted=True)
        return refused

    async def _settle(self, held: Held, *, noted: bool = False) -> None:
        """After a commit: keep the job (a run in flight, or plain with its next timer
        near), passivate it, or hand it to its actor (no longer plain)."""
        if self.held.get(held.id) is not held:
            return  # released while its commit was in flight
        core = held.core
        if held.ends:  # ended while its commit was in flight: the end, then its slots
            self._ended.add(held.id)
        if held.runs or held.ends:
            self._heap.push(held)
            return
        if core.state.status.terminal or self._stopping:
            del self.held[held.id]
            if not (noted and core.state.status.terminal):  # noted by its commit: final
                self.deps.note(core.state, core.next_timer(), True)
            return
        if not waits.batchable(self.deps, core.state) or core.held is not None:
            await self._actors.start_actor(held.id, self._handoff(held))
            return
        nxt = core.next_timer()
        if nxt is not None and (nxt - self.deps.clock.now()).total_seconds() <= (
            self.deps.passivate_after
        ):
            self._heap.push(held)
            return
        del self.held[held.id]
        self.deps.note(core.state, nxt, True)
