"""The engine's worker: what job actors leave for other jobs, done off their path.

Job actors report ends that concern other jobs — dependency news and trigger templates
to clone — through :class:`EngineQueue`, whose methods never block: the work goes to an
unbounded queue served by :class:`EngineWorker`, the engine's worker actor, so a job
actor never waits on another job actor (no ask cycles). Work lost in a crash is
recovered at boot: blocked jobs re-read their dependencies' statuses. A piece of work
that fails with a ``GnomonError`` is logged and dropped; the worker goes on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import trio

from gnomon.actors.core import dag
from gnomon.actors.core.job.msgs import StartTriggers
from gnomon.actors.job.ports import JobCommand, Save
from gnomon.runtime.actor import ActorContext
from gnomon.runtime.errors import GnomonError, NotFound, Refused
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.state import JobState

if TYPE_CHECKING:
    from gnomon.actors.engine import Engine

log = logging.getLogger("gnomon.engine")

#: Held around creating a trigger clone: the template's token limits (the daemon passes
#: ``Agents.admitting_clone``; docs/agents.md).
AdmitClone = Callable[[JobState], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def no_limits(_: JobState) -> AsyncIterator[None]:
    """An :data:`AdmitClone` that admits every clone."""
    yield


@attrs.frozen
class _Dependents:
    job_id: str
    status: JobStatus


@attrs.frozen
class _Triggers:
    effect: StartTriggers


@attrs.frozen
class _Activate:
    job_id: str


@attrs.frozen
class _Record:
    events: tuple[EventDraft, ...]


_Work = _Dependents | _Triggers | _Activate | _Record


class EngineQueue:
    """The worker's unbounded queue; every method puts one item and never blocks."""

    def __init__(self) -> None:
        self._send, self.receive = trio.open_memory_channel[_Work](math.inf)

    def notify_dependents(self, job_id: str, status: JobStatus) -> None:
        """``job_id`` ended with ``status``: tell the jobs that depend on it."""
        self._send.send_nowait(_Dependents(job_id, status))

    def start_triggers(self, effect: StartTriggers, state: JobState) -> None:
        """Clone the trigger templates of ``effect``."""
        self._send.send_nowait(_Triggers(effect))

    def record(self, *events: EventDraft) -> None:
        """Save events that belong to no job step (supervision news)."""
        self._send.send_nowait(_Record(events))

    def activate(self, job_id: str) -> None:
        """Start the actor of a job just created that has something to do now."""
        self._send.send_nowait(_Activate(job_id))


def _clone_refused(template: JobState, exc: Refused, *, now: datetime) -> EventDraft:
    """``job.skipped`` on a trigger template whose clone a limit refused."""
    return EventDraft(
        type=EventType.JOB_SKIPPED,
        timestamp=now,
        job_id=template.id,
        name=template.spec.name,
        owner=str(template.owner),
        status=template.status,
        message=exc.message,
        payload={"reason": exc.reason, "trigger": True},
    )


class EngineWorker:
    """Serves :class:`EngineQueue` through ``engine`` (see the module docstring).

    Args:
        queue: what it serves.
        engine: creates the clones, reaches the jobs and the store.
        admit_clone: held around creating each trigger clone.
    """

    def __init__(
        self, queue: EngineQueue, engine: Engine, *, admit_clone: AdmitClone = no_limits
    ) -> None:
        self._recv = queue.receive
        self.engine = engine
        self._admit_clone = admit_clone

    async def run(self, ctx: ActorContext[Any]) -> None:
        """The worker actor: delivers dependency news, clones triggers, activates new
        jobs and saves supervision events until cancelled."""
        ctx.ready()
        directory = self.engine.directory
        async for item in self._recv:
            if isinstance(item, _Activate):
                await _safely(directory.activate(item.job_id))
            elif isinstance(item, _Record):
                await _safely(self.engine.persistence.save(Save(events=item.events)))
            elif isinstance(item, _Dependents):
                for dependent in directory.dependents(item.job_id):
                    await _safely(self._tell_dependent(dependent, item))
            elif isinstance(item, _Triggers):
                for template in item.effect.templates:
                    await _safely(self._clone(template, item.effect))

    async def _tell_dependent(self, dependent: str, news: _Dependents) -> None:
        directory = self.engine.directory
        entry = directory.get(dependent)
        if entry is None or entry.status.terminal:
            return
        await directory.ask(
            dependent,
            lambda: JobCommand(op="dependency_ended", dep_id=news.job_id, dep_status=news.status),
        )

    async def _clone(self, template_id: str, effect: StartTriggers) -> None:
        engine = self.engine
        template = await engine.persistence.load(template_id)
        if template is None:
            raise NotFound(f"trigger template {template_id} is gone")
        try:
            async with self._admit_clone(template):
                now = engine.clock.now()
                taken = [e.name for e in engine.directory.entries() if not e.status.terminal]
                name = dag.clone_name(template.spec.name, taken)
                clone = dag.clone_job(
                    template, job_id=engine.ids(), name=name, parent_id=effect.parent_id, now=now
                )
                await engine.create(
                    clone.spec,
                    clone.owner,
                    clone.created_by,
                    internal=True,
                    expires_at=clone.expires_at,
                    template=clone,
                )
        except Refused as exc:  # announced on the template, then logged by _safely
            drafts = (_clone_refused(template, exc, now=engine.clock.now()),)
            await engine.persistence.save(Save(events=drafts))
            raise


async def _safely(work: Awaitable[Any]) -> None:
    try:
        await work
    except GnomonError as exc:
        log.warning("engine work failed: %s", exc)
