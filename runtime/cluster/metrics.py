"""The cluster's Prometheus metrics, registered on the daemon's registry when clustered."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_RENEW_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class ClusterMetrics:
    """Partitions held, takeovers, fenced writes, self-fences and lease renewal latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.partitions_held = Gauge(
            "gnomon_cluster_partitions_held", "Partitions this node holds", registry=r
        )
        self.takeovers = Counter(
            "gnomon_cluster_takeovers",
            "Partitions taken from a node whose lease expired",
            registry=r,
        )
        self.fenced_writes = Counter(
            "gnomon_cluster_fenced_writes",
            "Units of work refused because this node no longer held their partition",
            registry=r,
        )
        self.self_fences = Counter(
            "gnomon_cluster_self_fences",
            "Times this node fenced itself after failing to renew its lease",
            registry=r,
        )
        self.renew_seconds = Histogram(
            "gnomon_cluster_lease_renew_seconds",
            "Lease renewal round trip (renewal, membership read)",
            buckets=_RENEW_BUCKETS,
            registry=r,
        )
