"""``--replace``: a job takes a new spec in place, keeping its id, history and cycles."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.msgs import Emit
from gnomon.actors.job.ports import CommandResult, JobCommand, Save
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.state import MAX_TRANSITIONS, JobState

if TYPE_CHECKING:
    from gnomon.actors.job.actor import JobShell


async def replace(shell: JobShell, msg: JobCommand) -> CommandResult:
    """``--replace``: the job takes a new spec, keeping its id, history and cycle count.

    Refused while a fire is in flight (cancel it, or wait for it to end). A paused job
    stays paused.
    """
    old, spec = shell.state, msg.spec
    assert spec is not None
    if old.status.terminal:
        return CommandResult(state=old, error=f"job {old.spec.name} already ended {old.status}")
    if old.fires or old.queued:
        return CommandResult(
            state=old,
            error=f"cannot replace job {old.spec.name}: a fire is in flight "
            "(cancel it or wait for it to end)",
        )
    fresh = replacement(old, spec, msg, shell.deps.clock.now())
    step = fsm.step(
        fresh,
        fsm.Created(now=fresh.updated_at, first_slot=msg.first_slot, dependencies=msg.dependencies),
    )
    if not step.ok:
        return CommandResult(state=old, error=step.error)
    merged = attrs.evolve(
        step.state,
        cycle=old.cycle,
        transitions=(*old.transitions, *step.state.transitions)[-MAX_TRANSITIONS:],
    )
    events = tuple(
        attrs.evolve(e, type=EventType.JOB_UPDATED, message=f"job {spec.name} updated")
        if e.type is EventType.JOB_CREATED
        else e
        for e in step.events
    )
    step = fsm.Step(merged, tuple(e for e in step.effects if not isinstance(e, Emit)))
    await shell.deps.persistence.save(Save(job=merged, events=events))
    shell.core.fresh(merged)
    for effect in step.effects:
        shell.perform(effect)
    shell.deps.note(shell.state, shell.next_timer(), False)
    if old.status is JobStatus.PAUSED:
        await shell.apply(fsm.Pause(now=merged.updated_at, reason=old.message))
    return CommandResult(state=shell.state)


def replacement(old: JobState, spec: JobSpec, msg: JobCommand, now: datetime) -> JobState:
    """A fresh state for ``old`` under ``spec`` (same id, owner, provenance, expiry)."""
    return JobState(
        id=old.id,
        spec=spec,
        owner=old.owner,
        created_by=old.created_by,
        created_at=old.created_at,
        updated_at=now,
        parent_id=old.parent_id,
        trigger_ids=msg.trigger_ids,
        expires_at=msg.expires_at or old.expires_at,
    )
