"""The event tail's Prometheus metrics (docs/cluster.md, "Events on every node")."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DELAY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class TailMetrics:
    """The last published seq, reads, skipped events and the NOTIFY → bus delay."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.published_seq = Gauge(
            "gnomon_cluster_events_published_seq",
            "The seq of the last event this node's bus published",
            registry=r,
        )
        self.reads = Counter(
            "gnomon_cluster_events_reads", "Reads of the events table by the event tail", registry=r
        )
        self.skipped = Counter(
            "gnomon_cluster_events_skipped",
            "Events the tail skipped because they were pruned before it read them",
            registry=r,
        )
        self.delay = Histogram(
            "gnomon_cluster_event_delay_seconds",
            "From a NOTIFY of a commit to its events on this node's bus",
            buckets=_DELAY_BUCKETS,
            registry=r,
        )
