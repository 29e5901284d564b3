"""Slots of the job state machine: a due slot, a run-now, misfires and overlap.

Misfire (a slot handled more than ``misfire_grace`` seconds late): ``skip`` records it
skipped; ``fire_once`` skips it when a later slot is also already due, so only the latest
missed slot fires; ``fire_all`` fires every one (then subject to the overlap policy).
A job more than :data:`MAX_CATCH_UP` slots behind handles only the newest
``MAX_CATCH_UP`` slots one by one (so ``fire_all`` replays at most that many); the older
ones are dropped at once, as one ``job.skipped`` (reason ``misfire``, or ``paused`` while
paused) with their count — the caller finds them arithmetically, never slot by slot.

Overlap (a slot or run-now while a fire is in flight, its wait and backoff included):
``skip`` records the slot skipped (a run-now is refused); ``queue`` holds one fire and
starts it when the fire in flight ends (a second one is skipped); ``allow`` starts it
alongside; ``cancel_previous`` kills the fires in flight and starts the new one.
"""

from __future__ import annotations

from datetime import datetime

from gnomon.actors.core.job.fires import abandon, iso, skip_slot, start_fire, tally_paused_skip
from gnomon.actors.core.job.msgs import FireDue, RunNow
from gnomon.actors.core.job.tx import (
    Illegal,
    Tx,
    awaits_deps,
    is_manual,
    is_one_shot,
    name_of,
    recurring,
)
from gnomon.runtime.model.enums import JobStatus, Misfire, Overlap, SkipReason
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.state import QueuedFire

#: How many missed slots a job handles one by one when it is behind (see the docstring).
MAX_CATCH_UP = 100


def on_fire_due(tx: Tx, inp: FireDue) -> None:
    """The fire timer rang for ``inp.slot``.

    Raises:
        Illegal: the job is terminal, manual, blocked, or the slot is not its armed one.
    """
    s, n = tx.state, name_of(tx.state)
    if s.status.terminal:
        raise Illegal(f"job {n} ended {s.status}; slot {iso(inp.slot)} is stale")
    if is_manual(s):
        raise Illegal(f"job {n} has a manual schedule: it fires only by `jobs run` or a trigger")
    if inp.slot != s.next_fire_at:
        raise Illegal(f"slot {iso(inp.slot)} is not job {n}'s armed slot ({iso(s.next_fire_at)})")
    if inp.now < inp.slot:
        raise Illegal(f"slot {iso(inp.slot)} of job {n} is not due yet")
    if awaits_deps(s):
        raise Illegal(f"job {n} is blocked on its dependencies; its slots do not fire")
    if s.status is JobStatus.PAUSED and not recurring(s):
        raise Illegal(f"job {n} is paused; its slot is held until it is resumed")
    nxt = inp.next_slot if recurring(s) else None
    tx.evolve(next_fire_at=nxt)
    if inp.bulk and nxt is not None:
        _drop_backlog(tx, inp, nxt)
        return
    if s.status is JobStatus.PAUSED:
        tally_paused_skip(tx, inp.slot)
        return
    late = (inp.now - inp.slot).total_seconds()
    if late > s.spec.misfire_grace:
        coalesce = s.spec.misfire is Misfire.FIRE_ONCE and nxt is not None and nxt <= inp.now
        if s.spec.misfire is Misfire.SKIP or coalesce:
            why = "a later missed slot fires instead" if coalesce else "misfire policy is skip"
            skip_slot(tx, inp.slot, SkipReason.MISFIRE, f"slot missed by {late:.0f}s; {why}")
            return
    offer_fire(tx, inp.slot, manual=False)


def _drop_backlog(tx: Tx, inp: FireDue, resume: datetime) -> None:
    """Record ``inp.slot`` and every slot before ``resume`` skipped, as one event — or, while
    paused and counted, in the pause's tally (its one event says it at resume)."""
    paused = tx.state.status is JobStatus.PAUSED
    if paused and inp.missed is not None:
        tally_paused_skip(tx, inp.slot, count=inp.missed, last=inp.last_missed)
        return
    what = "slots" if inp.missed is None else f"{inp.missed} slot(s)"
    message = (
        f"{what} from {iso(inp.slot)} to before {iso(resume)} skipped at once: the job was "
        f"more than {MAX_CATCH_UP} slots behind" + ("; it is paused" if paused else "")
    )
    reason = SkipReason.PAUSED if paused else SkipReason.MISFIRE
    skip_slot(tx, inp.slot, reason, message, missed=inp.missed, until=resume)


def on_run_now(tx: Tx, inp: RunNow) -> None:
    """``jobs run`` or a trigger: fire now without touching the schedule.

    Raises:
        Illegal: the job is terminal, blocked or paused, or the overlap policy refuses.
    """
    s, n = tx.state, name_of(tx.state)
    if s.status.terminal:
        raise Illegal(f"cannot run job {n} now: it ended {s.status}")
    if awaits_deps(s):
        left = ", ".join(d.name for d in s.dependencies if d.status is None)
        raise Illegal(f"cannot run job {n} now: it is blocked on its dependencies ({left})")
    if s.status is JobStatus.PAUSED:
        raise Illegal(f"cannot run job {n} now: it is paused; resume it first")
    offer_fire(tx, inp.now, manual=True, trigger=inp.trigger)


def offer_fire(tx: Tx, fire_time: datetime, *, manual: bool, trigger: str | None = None) -> None:
    """Start a fire at ``fire_time`` unless one is in flight; then apply the overlap policy.

    Raises:
        Illegal: a run-now refused by ``skip``, or by ``queue`` with a fire already queued.
    """
    s, n = tx.state, name_of(tx.state)
    cycle = s.cycle + 1
    if not s.fires:
        start_fire(tx, fire_time, cycle, manual=manual, trigger=trigger)
        return
    busy = s.fires[-1].cycle
    policy = s.spec.overlap
    if policy is Overlap.QUEUE and s.queued is None:
        tx.evolve(cycle=cycle, queued=QueuedFire(fire_time=fire_time, cycle=cycle, manual=manual))
        tx.emit(
            EventType.JOB_FIRED,
            f"fire {cycle} queued behind fire {busy}",
            fire_time=fire_time,
            cycle=cycle,
            manual=manual or None,
            queued=True,
            trigger=trigger,
        )
        return
    if policy in (Overlap.SKIP, Overlap.QUEUE):
        why = f"fire {busy} is still in flight (overlap {policy})"
        if policy is Overlap.QUEUE:
            why = f"fire {s.queued.cycle if s.queued else busy} is already queued (overlap queue)"
        if manual:
            raise Illegal(f"cannot run job {n} now: {why}")
        skip_slot(tx, fire_time, SkipReason.OVERLAP, f"slot skipped: {why}")
        return
    replaced = None
    if policy is Overlap.CANCEL_PREVIOUS:
        replaced = [f.cycle for f in s.fires]
        for f in s.fires:
            abandon(tx, f, f"replaced by fire {cycle} (overlap cancel_previous)")
        tx.evolve(fires=())
    start_fire(tx, fire_time, cycle, manual=manual, trigger=trigger, replaced=replaced)


def fire_held_slot(tx: Tx) -> None:
    """Fire a one-shot job's slot that passed while it was paused or blocked, now (the
    delay was not the scheduler's, so it is no misfire)."""
    s = tx.state
    slot = s.next_fire_at
    if not is_one_shot(s) or slot is None or slot > tx.now:
        return
    tx.evolve(next_fire_at=None)
    offer_fire(tx, slot, manual=False)
