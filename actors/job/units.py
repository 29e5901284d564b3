"""What a job actor adds to a state-machine step before saving it.

* **Claims**: every slot a step consumes — a new fire (scheduled, queued, run-now or
  trigger) or a skipped slot — is claimed in the same transaction as the state that
  consumed it, so ``UNIQUE(job_id, fire_time)`` makes "a slot is recorded exactly once"
  a database invariant.
* **Enrichment**: the state machine knows no wall-clock durations or metric labels; the
  shell adds the payload keys the metrics read (:mod:`gnomon.runtime.metrics`): ``lag``
  on ``job.fired``, ``action_type`` and ``duration`` on run ends, ``condition_type``,
  ``result`` and ``waited`` on wait events — each through its typed view in
  :mod:`gnomon.runtime.model.payloads`, the one place readers read them from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from gnomon.actors.core.job.msgs import Effect, JobInput, RecordSkip, StartRun, Step
from gnomon.actors.job.perform import RunEnd
from gnomon.actors.waiter import PollReport
from gnomon.runtime.model import payloads
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.payloads import Payload
from gnomon.runtime.model.state import JobState, RunRecord

_WAIT_EVENTS = {
    EventType.JOB_WAIT_STARTED,
    EventType.JOB_WAIT_TICK,
    EventType.JOB_WAIT_SATISFIED,
    EventType.JOB_TIMED_OUT,
}


def claims_of(old: JobState, step: Step) -> tuple[datetime, ...]:
    """The slots ``step`` consumes, each once, in order.

    A skip of a fire that was already in flight (e.g. deferred past the next slot by an
    open breaker) consumes nothing new: its slot was claimed when the fire started.
    """
    new = step.state
    out: list[datetime] = []
    if new.fires or new.queued is not None:  # a fire the step started or queued
        seen = {f.cycle for f in old.fires}
        if old.queued is not None:
            seen.add(old.queued.cycle)
        out += [f.fire_time for f in new.fires if f.cycle not in seen]
        if new.queued is not None and new.queued.cycle not in seen:
            out.append(new.queued.fire_time)
    skips = [e.fire_time for e in step.effects if isinstance(e, RecordSkip) and e.fire_time]
    if skips:
        claimed = {f.fire_time for f in old.fires}
        if old.queued is not None:
            claimed.add(old.queued.fire_time)
        out += [t for t in skips if t not in claimed]
    if not out:
        return ()
    return tuple(dict.fromkeys(out))


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def enrich(
    draft: EventDraft,
    old: JobState,
    new: JobState,
    inp: JobInput,
    *,
    run: tuple[StartRun, RunEnd] | None = None,
    poll: PollReport | None = None,
) -> EventDraft:
    """``draft`` with the payload keys the metrics need (see the module docstring), each
    written through its typed view in :mod:`gnomon.runtime.model.payloads`; the same
    draft when it needs none."""
    p = draft.payload
    kind, spec = draft.type, new.spec
    if kind is EventType.JOB_FIRED and not p.get("manual") and not p.get("queued"):
        slot = _when(p.get("fire_time"))
        if slot is not None:
            lag = round(max(0.0, (draft.timestamp - slot).total_seconds()), 6)
            p = payloads.Fired(lag).write(p)
    elif kind in _TYPED_ACTION and "action_type" not in p:
        p = payloads.RetryQueued(spec.action.TAG).write(p)
    if run is not None and draft.outcome is not None and p.get("run_id") == run[0].run_id:
        start, end = run
        began = end.started_at or end.finished_at
        duration = round(max(0.0, (end.finished_at - began).total_seconds()), 6)
        p = payloads.RunEnded(start.action.TAG, draft.outcome.value, duration).write(p)
    if kind in _WAIT_EVENTS and spec.wait is not None:
        p = _wait_details(p, draft, old, spec.wait.condition.TAG, poll)
    return draft if p is draft.payload else draft.with_payload(p)


#: Events whose payload names the action's type (``job.running`` and retries).
_TYPED_ACTION = (EventType.JOB_RUNNING, EventType.JOB_RETRY_QUEUED)


def _wait_details(
    p: Payload, draft: EventDraft, old: JobState, condition: str, poll: PollReport | None
) -> dict[str, Any]:
    kind = draft.type
    if kind is EventType.JOB_WAIT_TICK:
        label = payloads.WaitTick.read(p).result  # the state machine's poll label
        if poll is not None and poll.breaker_open:
            label = "breaker_open"
        return payloads.WaitTick(condition, label).write(p)
    if kind not in (EventType.JOB_WAIT_SATISFIED, EventType.JOB_TIMED_OUT):
        return payloads.WaitEvent(condition).write(p)
    cycle = p.get("cycle")
    fire = next((f for f in old.fires if f.cycle == cycle), None)
    waited = None
    if fire is not None and fire.wait is not None:
        waited = round(max(0.0, (draft.timestamp - fire.wait.started_at).total_seconds()), 6)
    held = "true" if kind is EventType.JOB_WAIT_SATISFIED else None
    return payloads.WaitEnded(condition, waited, held).write(p)


@attrs.define
class Unit:
    """What one or more steps of a job actor will save together, and the effects they
    will perform once it is saved (timer effects are applied at once: they live only in
    the actor's memory)."""

    job_id: str
    claims: list[datetime] = attrs.field(factory=list)
    runs: list[RunRecord] = attrs.field(factory=list)
    events: list[EventDraft] = attrs.field(factory=list)
    effects: list[Effect] = attrs.field(factory=list)
    changed: bool = False
    urgent: bool = False

    def __bool__(self) -> bool:
        return bool(self.changed or self.claims or self.runs or self.events)

    def quiet(self) -> bool:
        """Only skipped slots: nothing outside the job waits for this unit's commit."""
        return not self.runs and all(isinstance(e, RecordSkip) for e in self.effects)

    def then(self, later: Unit) -> Unit:
        """This unit followed by ``later``, as one."""
        return Unit(
            job_id=self.job_id,
            claims=self.claims + later.claims,
            runs=self.runs + later.runs,
            events=self.events + later.events,
            effects=self.effects + later.effects,
            changed=self.changed or later.changed,
            urgent=self.urgent or later.urgent,
        )
