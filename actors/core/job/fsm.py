"""The job state machine: ``step(state, input) -> Step(new_state, effects)``, pure.

No trio, no I/O, no clock: every input carries ``now`` and, where calendar math is needed,
the next slot. The job actor feeds inputs (:mod:`~gnomon.actors.core.job.msgs`) and
interprets effects; it is the only writer of its job's state.

Modules: :mod:`~gnomon.actors.core.job.msgs` (inputs, effects), :mod:`.tx` (status,
transitions, events, timers), ``fires`` (fire primitives), ``slots`` (slots,
misfire, overlap), ``runs`` (waits, runs, retries), ``life`` (creation, pause,
resume, cancel, expiry, dependencies), ``recover`` (restart), ``fast`` (the plain due slot,
success and recovery in one state rebuild each).

Statuses (docs/engine.md)::

    created ─▶ pending ◀──▶ waiting ──▶ running ──▶ completed | failed | timed_out
       │          ▲  └──────────────────────▲ (retry backoff = pending)
       └▶ blocked ┘ (dependencies) ──▶ failed | skipped
    any live status ──▶ paused ──▶ back where it was;  any live status ──▶ cancelled

While live and neither paused nor blocked, the status follows the fires in flight
(:func:`~gnomon.actors.core.job.tx.live_status`). Pause stops new fires, retries and
wait polling (a wait's remaining budget is frozen) but lets runs in flight finish; their
results are recorded and may end the job. Resume returns to where the job was: a blocked
job stays blocked, a recurring job jumps to its next future slot, a one-shot job whose slot
passed meanwhile fires now. ``Recover`` rebuilds the actor after a restart: waits resume
with their remaining budget, timers are re-armed, and a run that had started is an orphan
(``run.orphaned``) whose attempt counts as failed, so the retry policy decides.

Illegal or stale inputs return ``Step(old_state, (), error="…")`` with a message that
says what the job is, e.g. ``cannot resume job x: it is running, not paused``.
"""

from __future__ import annotations

from gnomon.actors.core.job.attempts import (
    ORPHAN_ERROR,
    on_retry_due,
    on_run_finished,
    on_run_started,
    on_wait_polled,
    on_wait_timed_out,
)
from gnomon.actors.core.job.fast import fast_step
from gnomon.actors.core.job.life import (
    on_cancel,
    on_created,
    on_dependency_ended,
    on_expire,
    on_pause,
    on_resume,
)
from gnomon.actors.core.job.msgs import (
    ArmTimer,
    Backfill,
    Cancel,
    CancelTimer,
    Created,
    DependencyEnded,
    Effect,
    Emit,
    Expire,
    FireDue,
    JobInput,
    KillRun,
    NotifyDependents,
    Pause,
    RecordSkip,
    Recover,
    Resume,
    RetryDue,
    RunFinished,
    RunNow,
    RunStarted,
    StartRun,
    StartTriggers,
    StartWait,
    Step,
    StopWait,
    TimerKind,
    WaitPolled,
    WaitTimedOut,
    due,
)
from gnomon.actors.core.job.recover import on_recover
from gnomon.actors.core.job.slots import on_backfill, on_fire_due, on_run_now
from gnomon.actors.core.job.tx import Illegal, Tx, live_status, timers
from gnomon.runtime.model.state import Dependency, JobState


def step(state: JobState, inp: JobInput) -> Step:
    """Apply one input. Never raises for domain reasons: see :class:`Step.error`.

    The plain cases (a plain due slot, a plain run's success, a plain recovery) take the
    fast paths of :mod:`~gnomon.actors.core.job.fast`, which give what
    :func:`general_step` gives."""
    return fast_step(state, inp) or general_step(state, inp)


def general_step(state: JobState, inp: JobInput) -> Step:
    """:func:`step` by the general handlers only (no fast path)."""
    tx = Tx(state, inp.now)
    try:
        _apply(tx, inp)
    except Illegal as exc:
        return Step(state, (), str(exc))
    return tx.finish()


def _apply(tx: Tx, inp: JobInput) -> None:
    match inp:
        case Created():
            on_created(tx, inp)
        case FireDue():
            on_fire_due(tx, inp)
        case RunNow():
            on_run_now(tx, inp)
        case Backfill():
            on_backfill(tx, inp)
        case WaitPolled():
            on_wait_polled(tx, inp)
        case WaitTimedOut():
            on_wait_timed_out(tx, inp)
        case RunStarted():
            on_run_started(tx, inp)
        case RunFinished():
            on_run_finished(tx, inp)
        case RetryDue():
            on_retry_due(tx, inp)
        case Pause():
            on_pause(tx, inp)
        case Resume():
            on_resume(tx, inp)
        case Cancel():
            on_cancel(tx, inp)
        case DependencyEnded():
            on_dependency_ended(tx, inp)
        case Expire():
            on_expire(tx)
        case Recover():
            on_recover(tx, inp)


__all__ = [
    "ORPHAN_ERROR",
    "ArmTimer",
    "Backfill",
    "Cancel",
    "CancelTimer",
    "Created",
    "Dependency",
    "DependencyEnded",
    "Effect",
    "Emit",
    "Expire",
    "FireDue",
    "JobInput",
    "KillRun",
    "NotifyDependents",
    "Pause",
    "RecordSkip",
    "Recover",
    "Resume",
    "RetryDue",
    "RunFinished",
    "RunNow",
    "RunStarted",
    "StartRun",
    "StartTriggers",
    "StartWait",
    "Step",
    "StopWait",
    "TimerKind",
    "WaitPolled",
    "WaitTimedOut",
    "due",
    "general_step",
    "live_status",
    "step",
    "timers",
]
