"""The engine's supervisor subtree, assembled (docs/architecture.md ``core``).

``core`` (one_for_one, 5 restarts / 60 s) starts, in order: the breakers, waiters and
jobs supervisors (``simple_one_for_one``), the directory's timer and the engine's worker.
:class:`EngineTree` builds it from the ports the daemon provides (persistence, executor,
evaluator, clock, metrics); tests build it the same way in virtual time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import trio

from gnomon.actors.admission import Admission, AdmissionConfig, PolicyCheck
from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.core.breaker.machine import BreakerConfig
from gnomon.actors.directory import JobDirectory, JobEntry
from gnomon.actors.drain import Drain
from gnomon.actors.engine import Engine, new_job_id
from gnomon.actors.exec.interface import Evaluator, Executor
from gnomon.actors.job.actor import Handoff, job_spec
from gnomon.actors.job.batch import BATCH_ID, DEFAULT_CHUNK, BatchFirer
from gnomon.actors.job.perform import RunDeps
from gnomon.actors.job.ports import JobDeps, Polled, Save
from gnomon.actors.persistence import EnginePersistence
from gnomon.actors.supervision import supervision_observer
from gnomon.actors.wait_pollers import WaitPollers, tick_draft
from gnomon.actors.waiter import PollReport
from gnomon.runtime.clock import Clock
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.events import EventDraft
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import Schedule
from gnomon.runtime.registry import Registry
from gnomon.runtime.supervisor import (
    ChildSpec,
    Observer,
    RestartBackoff,
    Strategy,
    Supervisor,
)

if TYPE_CHECKING:
    from gnomon.actors.remote import RemoteJobs


@attrs.frozen(kw_only=True)
class EngineConfig:
    """Engine settings (config keys ``limits.*``, ``engine.*``)."""

    admission: AdmissionConfig = attrs.field(factory=AdmissionConfig)
    breaker: BreakerConfig = attrs.field(factory=BreakerConfig)
    max_concurrency: int = 32
    passivate_after: float = 30.0
    activation_lead: float = 5.0
    job_shutdown: float = 30.0
    wait_save_every: float = 300.0
    #: fire due plain jobs in chunks instead of activating their actors (docs/engine.md)
    batch_firing: bool = True
    batch_chunk: int = DEFAULT_CHUNK


@attrs.frozen(kw_only=True)
class EnginePorts:
    """What the daemon (or a test) plugs into the engine."""

    persistence: EnginePersistence
    executor: Executor
    evaluator: Evaluator
    clock: Clock
    metrics: Metrics
    next_slot: Callable[[Schedule, datetime], datetime | None]
    action_key: Callable[[JobSpec, Action], str]
    condition_key: Callable[[JobSpec, Condition], str]
    policy: PolicyCheck | None = None
    crash_point: Callable[[str], None] = lambda name: None
    fault: Callable[[str], None] = lambda name: None
    observer: Observer | None = None
    ids: Callable[[], str] | None = None
    exclusions: ExclusionBook = attrs.field(factory=ExclusionBook)
    #: Publishes a non-durable event (an unchanged wait poll) to live subscribers; the
    #: draft is made only when someone listens.
    notify: Callable[[Callable[[], EventDraft]], None] = lambda make: None


class EngineTree:
    """Every engine actor and facade of one daemon, wired together."""

    #: in a cluster, the other nodes' jobs (actors/remote.py; actors/partitions.py sets it)
    remote: RemoteJobs | None = None
    #: fires due plain jobs in chunks (``engine.batch_firing``), or ``None``
    batch: BatchFirer | None = None

    def __init__(self, ports: EnginePorts, config: EngineConfig | None = None) -> None:
        cfg = config or EngineConfig()
        self.ports, self.config = ports, cfg
        self.registry = Registry()
        obs = ports.observer or supervision_observer(ports.metrics, ports.clock, self._record)
        simple = Strategy.SIMPLE_ONE_FOR_ONE
        self.jobs = Supervisor(
            "jobs",
            strategy=simple,
            registry=self.registry,
            intensity=10,
            period=60,
            backoff=RestartBackoff(base=0.1, cap=10.0),
            observer=obs,
        )
        self.waiters = Supervisor("waiters", strategy=simple, registry=self.registry, observer=obs)
        self.breaker_sup = Supervisor(
            "breakers", strategy=simple, registry=self.registry, observer=obs
        )
        self.breakers = Breakers(
            supervisor=self.breaker_sup,
            registry=self.registry,
            emit=self._emit,
            clock=ports.clock,
            config=cfg.breaker,
        )
        self.directory = JobDirectory(
            supervisor=self.jobs,
            registry=self.registry,
            spawn=self._spawn,
            clock=ports.clock,
            lead=cfg.activation_lead,
            on_forget=ports.metrics.job_series.forget,
        )
        self.admission = Admission(
            directory=self.directory,
            metrics=ports.metrics,
            config=cfg.admission,
            policy=ports.policy,
        )
        self.engine = Engine(
            persistence=ports.persistence,
            directory=self.directory,
            admission=self.admission,
            clock=ports.clock,
            next_slot=ports.next_slot,
            ids=ports.ids or new_job_id,
            observe=ports.metrics.job_series.note_state,
        )
        self.waits = WaitPollers(
            supervisor=self.waiters,
            evaluator=ports.evaluator,
            breakers=self.breakers,
            clock=ports.clock,
            deliver=self._deliver_poll,
            notify=lambda plan, report: ports.notify(lambda: tick_draft(plan, report)),
            save_every=cfg.wait_save_every,
        )
        self.engine.overlay = self.waits.overlay
        self.concurrency = trio.CapacityLimiter(cfg.max_concurrency)
        self.drain = Drain()
        ports.metrics.watch_mailboxes(self.mailbox_depths)
        ports.metrics.watch_jobs(self.job_counts, self.queued_runs)
        self.deps = JobDeps(
            persistence=ports.persistence,
            runs=RunDeps(
                executor=ports.executor,
                breakers=self.breakers,
                clock=ports.clock,
                concurrency=self.concurrency,
            ),
            evaluator=ports.evaluator,
            waits=self.waits,
            clock=ports.clock,
            next_slot=ports.next_slot,
            action_key=ports.action_key,
            condition_key=ports.condition_key,
            note=self.engine.note,
            notify_dependents=self.engine.notify_dependents,
            start_triggers=self.engine.start_triggers,
            dependency_statuses=self.engine.dependency_statuses,
            crash_point=ports.crash_point,
            fault=ports.fault,
            exclusion=ports.exclusions.excluded,
            passivate_after=cfg.passivate_after,
            drain=self.drain,
        )
        self._setup_batch()
        self.core = Supervisor(
            "core",
            children=[
                self.breaker_sup.as_child(),
                self.waiters.as_child(),
                # job actors are dynamic children: restarting an empty "jobs" would drop every
                # active job, so its giving up ends the tree (the next boot recovers them all)
                self.jobs.as_child(significant=True),
                # Both loop on their own channels and hold nothing a stop must save (the
                # news they carry is re-derived from the store at boot): cancel them at once.
                ChildSpec(
                    id="directory-timer",
                    kind="timer",
                    start=self.directory.run_timer,
                    shutdown=0,
                ),
                ChildSpec(
                    id="engine-worker", kind="engine", start=self.engine.run_worker, shutdown=0
                ),
            ],
            intensity=5,
            period=60,
            registry=self.registry,
            observer=obs,
        )

    def _setup_batch(self) -> None:
        """The batch firer, when ``engine.batch_firing`` is on: a child of "jobs" (the
        directory's timer starts it), so that a stop stops it with the job actors, all
        draining their runs at once (docs/engine.md)."""
        if not self.config.batch_firing:
            return
        self.batch = BatchFirer(self.deps, self.directory, self.config.batch_chunk)
        self.directory.batch = self.batch
        self.directory.batch_spec = ChildSpec(
            id=BATCH_ID, kind="batch", start=self.batch.run, shutdown=self.config.job_shutdown
        )

    def _spawn(self, job_id: str, handoff: Handoff | None = None) -> ChildSpec:
        return job_spec(self.deps, job_id, shutdown=self.config.job_shutdown, handoff=handoff)

    async def _deliver_poll(self, job_id: str, report: PollReport) -> None:
        await self.directory.ask(job_id, lambda: Polled(report=report), timeout=None)

    async def _emit(self, drafts: Sequence[EventDraft]) -> None:
        await self.ports.persistence.save(Save(events=tuple(drafts)))

    def load(self, entries: Iterable[JobEntry]) -> None:
        """Index the live jobs found at boot (before ``run``)."""
        self.directory.load(entries)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the ``core`` subtree until cancelled or stopped."""
        await self.core.run(task_status=task_status)

    def _record(self, *events: EventDraft) -> None:
        self.engine.record(*events)

    def job_counts(self) -> list[tuple[str, float]]:
        """``(status, n)`` of live jobs, for ``gnomon_active_jobs``."""
        return [
            (status.value, float(n))
            for status, n in self.directory.status_counts.items()
            if n and not status.terminal
        ]

    def queued_runs(self) -> float:
        """Fires waiting for a concurrency slot, for ``gnomon_queue_depth``."""
        return float(self.concurrency.statistics().tasks_waiting)

    def mailbox_depths(self) -> list[tuple[str, int]]:
        """``(kind, depth)`` of every registered actor, for ``gnomon_mailbox_depth``."""
        return [(ref.kind, ref.mailbox.depth) for ref in self.registry.of_all()]
