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
from gnomon.actors.core.job.msgs import Backfill, FireDue, RunNow
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
from gnomon.runtime.model.firing import count_between, next_fire, prev_fire
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import JobState, QueuedFire

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
    if inp.overlapping:
        _skip_overlapping(tx, inp, nxt)
        return
    tx.evolve(next_fire_at=nxt)
    if inp.bulk and nxt is not None:
        _drop_backlog(tx, inp, nxt)
        return
    if s.status is JobStatus.PAUSED:
        tally_paused_skip(tx, inp.slot)
        return
    if inp.excluded is not None:
        skip_excluded(tx, inp.slot, inp.excluded)
        return
    late = (inp.now - (inp.due or inp.slot)).total_seconds()
    if late > s.spec.misfire_grace:
        coalesce = s.spec.misfire is Misfire.FIRE_ONCE and nxt is not None and nxt <= inp.now
        if s.spec.misfire is Misfire.SKIP or coalesce:
            why = "a later missed slot fires instead" if coalesce else "misfire policy is skip"
            skip_slot(tx, inp.slot, SkipReason.MISFIRE, f"slot missed by {late:.0f}s; {why}")
            return
    offer_fire(tx, inp.slot, manual=False)


def _skip_overlapping(tx: Tx, inp: FireDue, resume: datetime | None) -> None:
    """Record ``inp.slot`` and the slots after it up to ``inp.last_missed`` (``missed`` in
    all) skipped as one ``job.skipped`` (reason ``overlap``): a fire is in flight and the
    engine, behind by several periods, finds them all due at once (:class:`FireDue`).

    Raises:
        Illegal: nothing is in flight, the job is paused, its overlap policy is not
            ``skip``, or the input does not say how many slots and which is next.
    """
    s, n = tx.state, name_of(tx.state)
    count, last = inp.missed, inp.last_missed
    if not s.fires or s.status is JobStatus.PAUSED or s.spec.overlap is not Overlap.SKIP:
        raise Illegal(f"slots of job {n} from {iso(inp.slot)} do not overlap a fire in flight")
    if resume is None or count is None or last is None or count < 1:
        raise Illegal(f"overlapping slots of job {n} need a count, a last slot and a next one")
    tx.evolve(next_fire_at=resume)
    why = f"fire {s.fires[-1].cycle} is still in flight (overlap skip)"
    span = iso(inp.slot) if count == 1 else f"{iso(inp.slot)} … {iso(last)}"
    message = f"{count} slot(s) skipped at once ({span}): {why}"
    extra = {"count": count, "last_slot": last, "until": resume}  # `until`: as a backlog's
    skip_slot(tx, inp.slot, SkipReason.OVERLAP, message, **extra)


def overlapping(s: JobState, slot: datetime, now: datetime, due: datetime) -> FireDue | None:
    """The one input for ``slot`` and every later slot due by ``now`` when each of them
    would be an overlap skip (:class:`FireDue` ``overlapping``), else ``None``: a fire in
    flight, ``overlap=skip``, not paused, an interval schedule without jitter (its slots
    counted arithmetically, each due at its slot), no exclusion calendar (an excluded
    slot has its own reason), no expiry by ``now``, ``slot`` within ``misfire_grace`` or
    ``fire_all`` (else the misfire policy decides, slot by slot), and more than one slot
    due."""
    spec, schedule = s.spec, s.spec.schedule
    if not s.fires or s.status is JobStatus.PAUSED or spec.overlap is not Overlap.SKIP:
        return None
    if not isinstance(schedule, IntervalSchedule) or schedule.jitter or spec.exclude:
        return None
    if s.expires_at is not None and s.expires_at <= now:
        return None  # it expires among them: the slots after its end are not its to skip
    late = (now - due).total_seconds()
    if late > spec.misfire_grace and spec.misfire is not Misfire.FIRE_ALL:
        return None
    last, resume = prev_fire(schedule, now), next_fire(schedule, now)
    count = None if last is None else count_between(schedule, slot, last)
    if last is None or resume is None or count is None or count < 2:
        return None
    return FireDue(
        now=now,
        slot=slot,
        next_slot=resume,
        missed=count,
        last_missed=last,
        due=due,
        overlapping=True,
    )


def skip_excluded(tx: Tx, slot: datetime, calendar: str) -> None:
    """Record ``slot`` skipped: exclusion calendar ``calendar`` covers it."""
    message = f"excluded: {calendar}"
    tx.evolve(message=message)
    skip_slot(tx, slot, SkipReason.EXCLUDED, message, calendar=calendar)


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


def on_backfill(tx: Tx, inp: Backfill) -> None:
    """``jobs backfill``: fire past slot ``inp.slot`` now, whatever the overlap policy (the
    caller bounds how many run at once).

    Raises:
        Illegal: the job is terminal, paused, blocked or not recurring, or that slot's
            fire is in flight.
    """
    s, n = tx.state, name_of(tx.state)
    if s.status.terminal:
        raise Illegal(f"cannot backfill job {n}: it ended {s.status}")
    if not recurring(s):
        raise Illegal(f"cannot backfill job {n}: only recurring schedules have past slots")
    if s.status is JobStatus.PAUSED or awaits_deps(s):
        raise Illegal(f"cannot backfill job {n}: it is {s.status}")
    if any(f.fire_time == inp.slot for f in s.fires):
        raise Illegal(f"slot {iso(inp.slot)} of job {n} is already in flight")
    start_fire(tx, inp.slot, s.cycle + 1, manual=False, backfill=True)


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
