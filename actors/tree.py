"""The engine's supervisor subtree, assembled (docs/architecture.md ``core``).

``core`` (one_for_one, 5 restarts / 60 s) starts, in order: the breakers, waiters and
jobs supervisors (``simple_one_for_one``), the directory's timer and the engine's worker.
:class:`EngineTree` builds it from the ports the daemon provides (persistence, executor,
evaluator, clock, metrics); tests build it the same way in virtual time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import trio

from gnomon.actors.admission import Admission, AdmissionConfig, PolicyCheck
from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.core.breaker.machine import BreakerConfig
from gnomon.actors.directory import JobDirectory, JobEntry
from gnomon.actors.drain import Drain
from gnomon.actors.engine import Engine, new_job_id
from gnomon.actors.engine_worker import AdmitClone, EngineQueue, EngineWorker, no_limits
from gnomon.actors.exec.interface import Evaluator, Executor
from gnomon.actors.job.actor import Handoff, job_spec
from gnomon.actors.job.batch import BATCH_ID, DEFAULT_CHUNK, BatchFirer
from gnomon.actors.job.perform import RunDeps
from gnomon.actors.job.ports import JobDeps, Polled, Save
from gnomon.actors.persistence import EnginePersistence
from gnomon.actors.remote import Alone, RemoteJobs, seen_entry
from gnomon.actors.supervision import supervision_observer
from gnomon.actors.wait_pollers import WaitPollers, tick_draft
from gnomon.actors.waiter import PollReport
from gnomon.runtime.actor import ActorContext
from gnomon.runtime.clock import Clock
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.events import EventDraft
from gnomon.runtime.model.kinds import DEFAULT_MODEL
from gnomon.runtime.registry import Registry
from gnomon.runtime.supervisor import (
    ChildSpec,
    Observer,
    RestartBackoff,
    Strategy,
    Supervisor,
)


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
    #: what an ``llm`` part naming no model calls (config ``llm.model``): its breaker key
    llm_model: str = DEFAULT_MODEL


@attrs.frozen(kw_only=True)
class EnginePorts:
    """What the daemon (or a test) plugs into the engine."""

    persistence: EnginePersistence
    executor: Executor
    evaluator: Evaluator
    clock: Clock
    metrics: Metrics
    policy: PolicyCheck | None = None
    crash_point: Callable[[str], None] = lambda name: None
    fault: Callable[[str], None] = lambda name: None
    observer: Observer | None = None
    ids: Callable[[], str] | None = None
    exclusions: ExclusionBook = attrs.field(factory=ExclusionBook)
    #: Publishes a non-durable event (an unchanged wait poll) to live subscribers; the
    #: draft is made only when someone listens.
    notify: Callable[[Callable[[], EventDraft]], None] = lambda make: None
    #: held around creating a trigger clone (the daemon: the agents' token limits)
    admit_clone: AdmitClone = no_limits
    #: in a cluster, the other nodes' jobs (the command relay; actors/remote.py)
    remote: RemoteJobs | None = None


class EngineTree:
    """Every engine actor and facade of one daemon, wired together: each part is built
    once, with what it needs passed to its constructor."""

    #: fires due plain jobs in chunks (``engine.batch_firing``), or ``None``
    batch: BatchFirer | None = None

    def __init__(self, ports: EnginePorts, config: EngineConfig | None = None) -> None:
        cfg = config or EngineConfig()
        self.ports, self.config, self.remote = ports, cfg, ports.remote
        self.registry = Registry()
        self.queue = EngineQueue()
        obs = ports.observer or supervision_observer(ports.metrics, ports.clock, self.queue.record)
        self._supervisors(obs)
        self.breakers = Breakers(
            supervisor=self.breaker_sup,
            registry=self.registry,
            emit=self._emit,
            clock=ports.clock,
            config=cfg.breaker,
        )
        self.directory = self._directory()
        self.admission = self._admission()
        self.waits = WaitPollers(
            supervisor=self.waiters,
            evaluator=ports.evaluator,
            breakers=self.breakers,
            clock=ports.clock,
            deliver=self._deliver_poll,
            notify=lambda plan, report: ports.notify(lambda: tick_draft(plan, report)),
            save_every=cfg.wait_save_every,
            names=self.directory.canonical,
        )
        self.engine = Engine(
            persistence=ports.persistence,
            directory=self.directory,
            admission=self.admission,
            clock=ports.clock,
            queue=self.queue,
            ids=ports.ids or new_job_id,
            observe=ports.metrics.job_series.note_state,
            overlay=self.waits.overlay,
        )
        self.worker = EngineWorker(self.queue, self.engine, admit_clone=ports.admit_clone)
        self.concurrency = trio.CapacityLimiter(cfg.max_concurrency)
        self.drain = Drain()
        ports.metrics.watch_mailboxes(self.mailbox_depths)
        ports.metrics.watch_jobs(self.job_counts, self.queued_runs)
        self.deps = self._job_deps()
        if cfg.batch_firing:
            self.batch = BatchFirer(self.deps, self.directory, cfg.batch_chunk)
        self.core = self._core(obs)

    def _supervisors(self, obs: Observer) -> None:
        """The ``simple_one_for_one`` supervisors of jobs, waiters and breakers."""
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

    def _directory(self) -> JobDirectory:
        """The directory; the batch firer, when ``engine.batch_firing`` is on, is a child of
        "jobs" (the directory's timer starts it), so that a stop stops it with the job
        actors, all draining their runs at once (docs/engine.md)."""
        cfg, others = self.config, self.remote or Alone()
        batch_spec = ChildSpec(
            id=BATCH_ID, kind="batch", start=self._run_batch, shutdown=cfg.job_shutdown
        )
        return JobDirectory(
            supervisor=self.jobs,
            registry=self.registry,
            spawn=self._spawn,
            clock=self.ports.clock,
            lead=cfg.activation_lead,
            on_forget=self.ports.metrics.job_series.forget,
            batch=lambda: self.batch,
            batch_spec=batch_spec if cfg.batch_firing else None,
            elsewhere=lambda job_id: seen_entry(others, job_id),
            on_end=lambda job_id, status: others.dependency_ended(job_id, status.value),
        )

    def _admission(self) -> Admission:
        others = self.remote or Alone()
        return Admission(
            directory=self.directory,
            metrics=self.ports.metrics,
            config=self.config.admission,
            policy=self.ports.policy,
            elsewhere=others.elsewhere,
            resolve_elsewhere=others.resolved,
        )

    def _job_deps(self) -> JobDeps:
        ports = self.ports
        return JobDeps(
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
            note=self.engine.note,
            notify_dependents=self.queue.notify_dependents,
            start_triggers=self.queue.start_triggers,
            dependency_statuses=self.engine.dependency_statuses,
            crash_point=ports.crash_point,
            fault=ports.fault,
            exclusion=ports.exclusions.excluded,
            passivate_after=self.config.passivate_after,
            drain=self.drain,
            default_model=self.config.llm_model,
        )

    def _core(self, obs: Observer) -> Supervisor:
        return Supervisor(
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
                ChildSpec(id="engine-worker", kind="engine", start=self.worker.run, shutdown=0),
            ],
            intensity=5,
            period=60,
            registry=self.registry,
            observer=obs,
        )

    async def _run_batch(self, ctx: ActorContext[Any]) -> None:
        assert self.batch is not None  # its spec exists only when the firer does
        await self.batch.run(ctx)

    def _spawn(self, job_id: str, handoff: Handoff | None = None) -> ChildSpec:
        return job_spec(self.deps, job_id, shutdown=self.config.job_shutdown, handoff=handoff)

    async def _deliver_poll(self, job_id: str, report: PollReport) -> None:
        """A wait's result: stepped by the batch firer when no actor holds the job (in a
        chunk with others'), else by the job's actor (activated if need be)."""
        if self.batch is not None and await self.batch.polled(job_id, report):
            return
        await self.directory.ask(job_id, lambda: Polled(report=report), timeout=None)

    async def _emit(self, drafts: Sequence[EventDraft]) -> None:
        await self.ports.persistence.save(Save(events=tuple(drafts)))

    def load(self, entries: Iterable[JobEntry]) -> None:
        """Index the live jobs found at boot (before ``run``)."""
        self.directory.load(entries)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the ``core`` subtree until cancelled or stopped."""
        await self.core.run(task_status=task_status)

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
