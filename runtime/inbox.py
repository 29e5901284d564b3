"""Inbox items: the final results of agent-owned jobs, written with the event that ends
them (docs/agents.md) — the one type the store writes and reads back and ``inbox.list``
answers, and how a save fills it.

Each fire of an agent's job that ends for good (``job.completed``, ``job.failed``,
``job.timed_out``) becomes one item for the job's owner, and so does the end of the job
itself when it ends another way (cancelled, expired, skipped, a dependency failed). The
item (:class:`~gnomon.runtime.protocol_inbox.InboxResult`, as ``inbox.list`` answers it)
carries the outcome, the timing and the tail of the run's output; it is part of the same
unit of work as the event, so a crash can never keep one without the other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import OwnerKind
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.state import JobState, RunRecord
from gnomon.runtime.protocol_inbox import InboxEntry, InboxResult

OUTPUT_TAIL = 2000
FIRE_ENDS = frozenset({EventType.JOB_COMPLETED, EventType.JOB_FAILED, EventType.JOB_TIMED_OUT})


@attrs.frozen(kw_only=True)
class InboxItem:
    """A result addressed to an owner, as a unit of work writes it (``Changes.inbox``);
    the store keeps ``item`` in its wire form and reads it back as an
    :class:`~gnomon.runtime.protocol_inbox.InboxEntry`."""

    owner: str
    job_id: str | None
    created_at: datetime
    item: InboxResult

    def stored(self) -> str:
        """``item`` as the store keeps it (its wire form, as JSON)."""
        return json.dumps(wire.unstructure(self.item))


def entry_of(row: Sequence[Any]) -> InboxEntry:
    """An item read back: ``row`` is ``(id, job_id, created_ts, item, read_ts)``.

    Raises:
        WireError: the stored item is not an ``InboxResult``.
    """
    item_id, job_id, created_ts, item, read_ts = row
    return InboxEntry(
        id=int(item_id),
        job_id=job_id,
        created_at=datetime.fromtimestamp(created_ts, UTC),
        read=read_ts is not None,
        item=wire.structure(json.loads(item), InboxResult),
    )


def _run_of(draft: EventDraft, runs: Sequence[RunRecord]) -> RunRecord | None:
    run_id = draft.payload.get("run_id")
    return next((r for r in runs if r.run_id == run_id), None) if run_id else None


def item_of(job: JobState, draft: EventDraft, run: RunRecord | None) -> InboxItem:
    """One result: what ended, how, when, and the output's tail."""
    status = (draft.status or job.status).value
    outcome = None if draft.outcome is None else draft.outcome.value
    cycle = draft.payload.get("cycle")
    result = InboxResult(
        summary=f"{job.spec.name} {status}: {draft.message or outcome or ''}".strip(),
        event=draft.type.value,
        job_id=job.id,
        name=job.spec.name,
        status=status,
        outcome=outcome,
        message=draft.message,
        cycle=cycle if isinstance(cycle, int) else None,
        at=draft.timestamp,
    )
    if run is not None:
        ended = run.finished_at or draft.timestamp
        result = attrs.evolve(
            result,
            run_id=run.run_id,
            attempt=run.attempt,
            started_at=run.started_at,
            finished_at=ended,
            duration=round((ended - run.started_at).total_seconds(), 3),
            exit_code=run.exit_code,
            output=run.output[-OUTPUT_TAIL:],
        )
    return InboxItem(owner=str(job.owner), job_id=job.id, created_at=draft.timestamp, item=result)


def inbox_items(
    job: JobState | None, events: Sequence[EventDraft], runs: Sequence[RunRecord]
) -> tuple[InboxItem, ...]:
    """The inbox items a save of ``job`` with ``events`` and ``runs`` adds (see the module
    docstring); none for jobs that agents do not own."""
    if job is None or job.owner.kind is not OwnerKind.AGENT:
        return ()
    items = [item_of(job, e, _run_of(e, runs)) for e in events if e.type in FIRE_ENDS]
    if not items and job.status.terminal:
        ends = [e for e in events if e.status is not None and e.status.terminal]
        if ends:
            items.append(item_of(job, ends[-1], _run_of(ends[-1], runs)))
    return tuple(items)
