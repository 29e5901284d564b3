"""Every metric of docs/operations.md, on an explicit registry (never the global one).

Most metrics are derived from committed events by :meth:`Metrics.observe_event`, so the
numbers can never disagree with the audit trail. The rest are set directly by their
owners: admission refusals (``enqueue_errors_total``), the run queue
(``queue_depth``), job counts per status (``active_jobs``), gateway connections, actor
restarts, store commit times, and mailbox depths (collected at scrape time).

The event payload keys read here are typed in :mod:`gnomon.runtime.model.payloads`.

Label values are bounded sets; breaker keys are capped at :data:`MAX_BREAKER_KEYS`
distinct values (further keys are folded into ``other``), and the per-job series
(``gnomon_job_*{job_name}``, :mod:`gnomon.runtime.job_metrics`) at ``metrics.per_job_max``
jobs plus those tagged ``metrics=on``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gnomon.runtime.job_metrics import DEFAULT_MAX, DEFAULT_TAG, JobSeries
from gnomon.runtime.model import payloads
from gnomon.runtime.model.events import Event, EventType

MAX_BREAKER_KEYS = 200
ENQUEUE_ERROR_REASONS = (
    "agents_disabled",
    "action_disallowed",
    "rate_limited",
    "invalid",
    "policy",
    "full",
    "duplicate_name",
    "quota",
    "store",
)
_BREAKER_GAUGE = {"closed": 0, "open": 1, "half_open": 2}
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
_COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

MailboxDepths = Callable[[], Iterable[tuple[str, int]]]
Samples = Callable[[], Iterable[tuple[str, float]]]


class _SumCollector(Collector):
    """A gauge computed at scrape time: ``(label, value)`` pairs summed per label."""

    def __init__(self, name: str, doc: str, label: str, source: Samples) -> None:
        self._name, self._doc, self._label, self._source = name, doc, label, source

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        totals: dict[str, float] = {}
        for key, value in self._source():
            totals[key] = totals.get(key, 0) + value
        for key, value in sorted(totals.items()):
            family.add_metric([key], value)
        yield family


#: A metric with labels.
_Labelled = Counter | Gauge | Histogram


class Metrics:
    """The daemon's metrics; one instance per daemon (tests make their own)."""

    jobs_created: Counter
    jobs_fired: Counter
    wait_checks: Counter
    wait_duration: Histogram
    action_duration: Histogram
    fire_lag: Histogram
    queue_depth: Gauge
    active_jobs: Gauge
    breaker_state: Gauge
    retries: Counter
    enqueue_errors: Counter
    skips: Counter
    events: Counter
    gateway_connections: Gauge
    actor_restarts: Counter
    store_commit: Histogram

    def __init__(
        self,
        mailbox_depths: MailboxDepths | None = None,
        *,
        per_job_max: int = DEFAULT_MAX,
        per_job_tag: str = DEFAULT_TAG,
    ) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.job_series = JobSeries(per_job_max, per_job_tag)
        r.register(self.job_series)
        self._register_activity(r)
        self._register_state(r)
        for reason in ENQUEUE_ERROR_REASONS:
            self.enqueue_errors.labels(reason)
        if mailbox_depths is not None:
            self.watch_mailboxes(mailbox_depths)
        self._breaker_keys: set[str] = set()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _register_activity(self, r: CollectorRegistry) -> None:
        """What jobs do: admissions, runs, waits and fire lag."""
        self.jobs_created = Counter(
            "gnomon_jobs_created", "Jobs admitted", ["owner_kind", "action_type"], registry=r
        )
        self.jobs_fired = Counter(
            "gnomon_jobs_fired",
            "Action executions by outcome",
            ["action_type", "outcome"],
            registry=r,
        )
        self.wait_checks = Counter(
            "gnomon_wait_checks", "Wait condition polls", ["condition_type", "result"], registry=r
        )
        self.wait_duration = Histogram(
            "gnomon_wait_duration_seconds",
            "Time from the start of a wait to its end",
            ["condition_type"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.action_duration = Histogram(
            "gnomon_action_duration_seconds",
            "Action execution time",
            ["action_type", "outcome"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.fire_lag = Histogram(
            "gnomon_fire_lag_seconds",
            "Lateness of fires against their nominal slot",
            buckets=_LAG_BUCKETS,
            registry=r,
        )

    def _register_state(self, r: CollectorRegistry) -> None:
        """Queues, statuses, breakers, retries, refusals, skips, events, connections,
        actor restarts and store commits (registered in this order: the scrape lists them
        so)."""
        self.queue_depth = Gauge(
            "gnomon_queue_depth", "Fires waiting for a concurrency slot", registry=r
        )
        self.active_jobs = Gauge(
            "gnomon_active_jobs", "Live jobs by status", ["status"], registry=r
        )
        self.breaker_state = Gauge(
            "gnomon_breaker_state",
            "Breaker state (0 closed, 1 open, 2 half-open)",
            ["key"],
            registry=r,
        )
        self.retries = Counter("gnomon_retries", "Retries queued", ["action_type"], registry=r)
        self.enqueue_errors = Counter(
            "gnomon_enqueue_errors", "Refused job admissions", ["reason"], registry=r
        )
        self.skips = Counter("gnomon_skips", "Skipped fires and polls", ["reason"], registry=r)
        self.events = Counter("gnomon_events", "Events committed", ["type"], registry=r)
        self.gateway_connections = Gauge(
            "gnomon_gateway_connections", "Open gateway connections", registry=r
        )
        self.actor_restarts = Counter(
            "gnomon_actor_restarts", "Actor restarts by supervisors", ["kind"], registry=r
        )
        self.store_commit = Histogram(
            "gnomon_store_commit_seconds",
            "Store transaction time",
            buckets=_COMMIT_BUCKETS,
            registry=r,
        )

    def watch_mailboxes(self, source: MailboxDepths) -> None:
        """Report ``gnomon_mailbox_depth{kind}`` from ``source`` at each scrape."""
        self.registry.register(
            _SumCollector(
                "gnomon_mailbox_depth", "Messages queued in actor mailboxes", "kind", source
            )
        )

    def watch_jobs(self, counts: Samples, queued: Callable[[], float]) -> None:
        """Report ``gnomon_active_jobs{status}`` and ``gnomon_queue_depth`` at each scrape."""
        self.registry.unregister(self.active_jobs)
        self.registry.unregister(self.queue_depth)
        self.registry.register(
            _SumCollector("gnomon_active_jobs", "Live jobs by status", "status", counts)
        )
        self.queue_depth = Gauge(
            "gnomon_queue_depth", "Fires waiting for a concurrency slot", registry=self.registry
        )
        self.queue_depth.set_function(queued)

    def observe_event(self, event: Event) -> None:
        """Update the event-derived metrics from one committed event."""
        self.child(self.events, event.type.value).inc()
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)
        end = payloads.RunEnded.read(event)
        if end is not None:
            self.child(self.jobs_fired, end.action_type, end.outcome).inc()
            self.child(self.action_duration, end.action_type, end.outcome).observe(end.duration)
            self.job_series.run_ended(
                event.job_id, event.name, end.outcome, event.timestamp, end.duration
            )

    def child(self, metric: _Labelled, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: every committed event looks up a few
        children, and prometheus_client's lookup (argument checks, a lock) costs several
        times a dict's. Children are never removed here, and label values are bounded
        (event types, action and condition types, outcomes, reasons)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def breaker_label(self, key: str) -> str:
        """``key`` itself while fewer than the cap are known, else ``other``."""
        if key in self._breaker_keys:
            return key
        if len(self._breaker_keys) < MAX_BREAKER_KEYS:
            self._breaker_keys.add(key)
            return key
        return "other"


def _created(m: Metrics, event: Event) -> None:
    owner_kind = (event.owner or "user:").split(":", 1)[0]
    m.child(m.jobs_created, owner_kind, payloads.Created.read(event.payload).action_type).inc()


def _fired(m: Metrics, event: Event) -> None:
    lag = payloads.Fired.read(event.payload).lag
    if lag is not None:
        m.fire_lag.observe(max(0.0, lag))


def _tick(m: Metrics, event: Event) -> None:
    tick = payloads.WaitTick.read(event.payload)
    m.child(m.wait_checks, tick.condition_type, tick.result).inc()


def _wait_end(m: Metrics, event: Event) -> None:
    end = payloads.WaitEnded.read(event.payload)
    if end.waited is not None:
        m.child(m.wait_duration, end.condition_type).observe(end.waited)


def _retry(m: Metrics, event: Event) -> None:
    m.child(m.retries, payloads.RetryQueued.read(event.payload).action_type).inc()


def _skipped(m: Metrics, event: Event) -> None:
    skip = payloads.Skipped.read(event.payload)  # a pause's coalesced event: each slot
    m.child(m.skips, skip.reason).inc(skip.count)


def _breaker(m: Metrics, event: Event) -> None:
    moved = payloads.BreakerMoved.read(event.payload)
    if moved.key is not None and moved.to in _BREAKER_GAUGE:
        m.breaker_state.labels(m.breaker_label(moved.key)).set(_BREAKER_GAUGE[moved.to])


_HANDLERS: dict[EventType, Callable[[Metrics, Event], None]] = {
    EventType.JOB_CREATED: _created,
    EventType.JOB_FIRED: _fired,
    EventType.JOB_WAIT_TICK: _tick,
    EventType.JOB_WAIT_SATISFIED: _wait_end,
    EventType.JOB_TIMED_OUT: _wait_end,
    EventType.JOB_RETRY_QUEUED: _retry,
    EventType.JOB_SKIPPED: _skipped,
    EventType.BREAKER_OPENED: _breaker,
    EventType.BREAKER_HALF_OPEN: _breaker,
    EventType.BREAKER_CLOSED: _breaker,
}
