"""Poll results the batch firer steps for jobs no actor holds (``actors/job/batch.py``).

A wait's durable news — its first poll, a changed result, its end, a quiet save of its
count (``actors/core/wait_book.py``) — used to activate the job's actor (a task, a
mailbox, a load, a commit of its own, a linger). For a job with no active actor the
shared pollers hand the result to the batch firer instead: it loads such jobs in bulk,
steps each result through the job's :class:`~gnomon.actors.job.core.JobCore` (the same
input and unit as the actor's ``waits.polled``) and commits them in chunks with the
fires. This module is the queue between the two: each result waits here until the
firer has committed it (answer ``True``) or gave the job to its actor first (``False``:
the caller delivers it to the actor as before). Nothing here awaits but the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import trio

from gnomon.actors.job import waits
from gnomon.actors.job.held import Held
from gnomon.actors.job.ports import JobDeps
from gnomon.actors.job.units import Unit
from gnomon.actors.waiter import PollReport


@attrs.define(eq=False)
class PendingPoll:
    """One result waiting for the firer's answer."""

    report: PollReport
    done: trio.Event = attrs.field(factory=trio.Event)
    stepped: bool = False

    def answer(self, stepped: bool) -> None:
        if not self.done.is_set():
            self.stepped = stepped
            self.done.set()


class PollQueue:
    """Results by job, in arrival order (one wait has at most one poll in flight)."""

    def __init__(self) -> None:
        self._by_job: dict[str, list[PendingPoll]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_job)

    def add(self, job_id: str, report: PollReport) -> PendingPoll:
        pending = PendingPoll(report)
        self._by_job.setdefault(job_id, []).append(pending)
        return pending

    def take_all(self) -> dict[str, list[PendingPoll]]:
        """Every queued result, by job; the queue is empty afterwards."""
        taken, self._by_job = self._by_job, {}
        return taken

    def answer(self, job_id: str, stepped: bool) -> None:
        """Answer the job's queued results (``False``: its actor must step them)."""
        for pending in self._by_job.pop(job_id, ()):
            pending.answer(stepped)

    def answer_all(self, stepped: bool) -> None:
        for job_id in list(self._by_job):
            self.answer(job_id, stepped)


async def deliver(
    queue: PollQueue, job_id: str, report: PollReport, wake: Callable[[], None]
) -> bool:
    """Queue ``report`` for the firer (``wake`` wakes its loop) and wait for its answer.
    Cancellation: the result may still be committed; the poller that was cancelled is
    stopping anyway (its wait stays in the book)."""
    pending = queue.add(job_id, report)
    wake()
    await pending.done.wait()
    return pending.stepped


Answers = list[tuple[str, list[PendingPoll]]]


def stage_polls(
    deps: JobDeps, held: Mapping[str, Held | None], taken: dict[str, list[PendingPoll]]
) -> tuple[list[tuple[Held, Unit]], Answers]:
    """Stage each held job's queued results into one unit of the job (as the actor's
    ``waits.polled`` does); a job not held (given to its actor) or in a commit gets its
    results back at once (``False``). Returns the units and whose answers wait for them."""
    units: list[tuple[Held, Unit]] = []
    answers: Answers = []
    for job_id, polls in taken.items():
        job = held.get(job_id)
        if job is None or job.busy:
            for pending in polls:
                pending.answer(False)
            continue
        unit = Unit(job_id=job_id)
        for pending in polls:
            inp = waits.polled_input(deps, pending.report)
            job.core.stage(unit, inp, poll=pending.report)
        units.append((job, unit))
        answers.append((job_id, polls))
    return units, answers


def answer_polls(answers: Answers, refused: set[str]) -> None:
    """After the commits: ``True`` for the results committed, ``False`` for those of a
    job whose unit the store refused (its fresh actor steps them)."""
    for job_id, polls in answers:
        for pending in polls:
            pending.answer(job_id not in refused)
