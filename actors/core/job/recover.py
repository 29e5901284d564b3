"""Recovery of the job state machine: rebuild a job actor from its persisted state.

After a crash, a restart or a shutdown, ``Recover`` re-arms every timer of
:func:`~gnomon.actors.core.job.tx.timers` (the previous incarnation's are gone), resumes
waits with their remaining budget and poll count (reference bugs 16.1.4 and 16.1.5: a
restart never turns a wait into a timeout), and re-applies dependency statuses that may
have been lost. A job whose stored spec was refused (see
:mod:`gnomon.runtime.model.stored`) fails at once with ``job.failed``. A run that had
started is an orphan: ``run.orphaned``, then exactly what a failed attempt would do (retry
per policy). A run dispatched but never reported started is issued again with the same id
and attempt, or, while paused, held uncharged for resume.
"""

from __future__ import annotations

import attrs

from gnomon.actors.core.job.attempts import ORPHAN_ERROR, finished
from gnomon.actors.core.job.fires import end_job, fire_by_cycle, ref, run_effect, wait_effect
from gnomon.actors.core.job.life import on_expire, resolve
from gnomon.actors.core.job.msgs import Recover
from gnomon.actors.core.job.tx import Tx, awaits_deps
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.state import FirePhase, FireState
from gnomon.runtime.model.stored import is_refused


def on_recover(tx: Tx, inp: Recover) -> None:
    """Rebuild the actor's timers, waits and runs from the state; handle orphans.

    Never illegal: a terminal job recovers to itself with no effect.
    """
    s = tx.state
    if s.status.terminal:
        return
    if is_refused(s):  # a spec stored by an older gnomon that today's bounds refuse
        end_job(tx, JobStatus.FAILED, s.message, EventType.JOB_FAILED, outcome=Outcome.FAILED)
        return
    persisted = [f.cycle for f in s.fires]  # a fire that starts below is new, not recovered
    tx.rearm_all = True
    if s.expires_at is not None and tx.now >= s.expires_at:
        on_expire(tx)
        return
    if inp.dependencies and awaits_deps(s):
        known = {d.id: d.status for d in inp.dependencies if d.status is not None}
        deps = tuple(attrs.evolve(d, status=known.get(d.id, d.status)) for d in s.dependencies)
        if deps != s.dependencies:
            tx.evolve(dependencies=deps)
            resolve(tx, None, "dependency statuses reloaded", None)
    for cycle in persisted:
        if any(f.cycle == cycle for f in tx.state.fires):  # not ended by an earlier orphan
            _recover_fire(tx, fire_by_cycle(tx, cycle))


def _recover_fire(tx: Tx, fire: FireState) -> None:
    paused = tx.state.status is JobStatus.PAUSED
    if fire.phase is FirePhase.WAITING and not paused:
        tx.effect(wait_effect(tx, fire))
    elif fire.phase is FirePhase.RUNNING and fire.started:
        tx.emit(
            EventType.RUN_ORPHANED,
            ORPHAN_ERROR,
            **ref(fire),
            run_id=fire.run_id,
            attempt=fire.attempt,
        )
        finished(tx, fire, Outcome.FAILED, ORPHAN_ERROR, transient=True)
    elif fire.phase is FirePhase.RUNNING and paused:
        charged = fire.attempt - (0 if fire.fallback else 1)
        back = attrs.evolve(fire, phase=FirePhase.BACKOFF, retry_at=tx.now, attempt=charged)
        tx.replace_fire(back)
        tx.settle("recovered while paused")
        msg = f"run {fire.run_id} had not started before the restart; it runs on resume"
        tx.emit(
            EventType.JOB_RETRY_QUEUED,
            msg,
            **ref(fire),
            run_id=fire.run_id,
            attempt=fire.attempt,
            charged=False,
        )
    elif fire.phase is FirePhase.RUNNING:  # dispatched, never reported started
        tx.effect(run_effect(tx, fire))
