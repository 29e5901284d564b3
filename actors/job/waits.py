"""The waits of one job actor: handed to the shared pollers, their news stepped in.

A wait is an entry in the shared poll book of its condition kind
(:mod:`gnomon.actors.wait_pollers`), not a task of the job: the job actor may passivate
while it waits, and is activated when the wait has news (a changed result, the wait's
end, a bounded-interval save) or its deadline is due. Before any other input is
stepped, the poll count and last result the pollers kept in memory are staged into the
same unit (:func:`sync`), so a timeout, a pause or a cancel reports what was polled.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from gnomon.actors.core.breaker.keys import job_condition_key
from gnomon.actors.core.canon import NO_ENV
from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.msgs import JobInput, StartWait
from gnomon.actors.job.ports import JobDeps, Polled
from gnomon.actors.job.units import Unit
from gnomon.actors.waiter import PollReport, WaitPlan
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.state import FirePhase, JobState

if TYPE_CHECKING:
    from gnomon.actors.job.actor import JobShell
    from gnomon.actors.job.core import JobCore


def start(deps: JobDeps, state: JobState, effect: StartWait) -> None:
    """Put fire ``effect.cycle``'s wait in the shared pollers (kept if already there).
    Needs no job actor: whoever steps the job (its actor, or any other shell of the
    state machine) may call it after the step's commit."""
    spec = state.spec
    # what the wait keeps while it polls is shared, not the state's decoded copies (the
    # directory's id and name, one condition and owner object for equal ones): 10k waits
    canon = deps.waits.canon
    job_id, job_name = deps.waits.names(state.id, spec.name)
    plan = WaitPlan(
        job_id=job_id,
        job_name=job_name,
        owner=canon(state.owner),
        cycle=effect.cycle,
        condition=canon(effect.condition),
        poll_interval=canon(effect.poll_interval),
        polls_done=effect.polls,
        # interned: waits on one target share one key (10k waits, one string)
        breaker_key=sys.intern(
            job_condition_key(spec, effect.condition, default_model=deps.default_model)
        ),
        i_know=spec.i_know,
        cwd=None if spec.cwd is None else canon(spec.cwd),
        env=spec.env or NO_ENV,
    )
    deps.waits.start(plan, max_polls=spec.budget.max_polls)


def stop(deps: JobDeps, job_id: str, cycle: int) -> None:
    """Stop polling fire ``cycle``'s wait (a poll in flight is dropped)."""
    deps.waits.stop(job_id, cycle)


def only_polled(deps: JobDeps, state: JobState) -> bool:
    """Every fire in flight (if any) is a wait the shared pollers hold, or a suspended
    one (paused): nothing a job actor must be there for."""
    fires = state.fires
    if not fires:
        return True
    if any(f.phase is not FirePhase.WAITING for f in fires):
        return False
    if state.status is JobStatus.PAUSED:
        return True
    held = {e.cycle for e in deps.waits.entries(state.id)}
    return all(f.cycle in held for f in fires)


def batchable(deps: JobDeps, state: JobState) -> bool:
    """A job the batch firer may hold (``actors/job/batch.py``): pending or waiting,
    nothing queued, and every fire in flight (if any) a wait the shared pollers hold —
    a plain job, or one whose slot starts a wait, or one that only waits. Its slot, its
    poll results and its wait's deadline are stepped by the firer in chunks (a job whose
    slot starts a wait passivates once the wait is with the pollers); anything else (a
    run's retry, a pause, …) goes to its actor."""
    return state.status in _HELD_STATUSES and state.queued is None and only_polled(deps, state)


_HELD_STATUSES = (JobStatus.PENDING, JobStatus.WAITING)


def polled_input(deps: JobDeps, report: PollReport) -> fsm.WaitPolled:
    """The state machine input of a result the pollers deliver."""
    v = report.verdict
    return fsm.WaitPolled(
        now=deps.clock.now(),
        cycle=report.cycle,
        value=v.value,
        summary=v.summary,
        transient=v.transient,
        polls=report.poll,
        quiet=report.quiet,
    )


def sync(shell: JobCore, unit: Unit, inp: JobInput) -> None:
    """Stage the pollers' unsaved progress of this job's waits before ``inp``."""
    if isinstance(inp, fsm.WaitPolled):
        return
    waits = shell.deps.waits
    for entry in waits.unsaved(shell.state.id):
        last = entry.last
        if last is None:
            continue
        progress = fsm.WaitPolled(
            now=shell.deps.clock.now(),
            cycle=entry.cycle,
            value=last.value,
            summary=last.summary,
            transient=last.transient,
            polls=entry.polls,
            quiet=True,
        )
        shell.stage(unit, progress)
        waits.mark_saved(entry)


async def polled(shell: JobShell, msg: Polled) -> None:
    """A result the pollers deliver: step it, save it, answer the poller."""
    await shell.apply(polled_input(shell.deps, msg.report), poll=msg.report)
    msg.reply.send(None)
