"""Names the public interface fixes (docs/operations.md, docs/protocol.md), shared by the
tests that check them."""

from __future__ import annotations

# docs/operations.md, in its order.
CONTRACT_METRICS = (
    "gnomon_jobs_created_total",
    "gnomon_jobs_fired_total",
    "gnomon_wait_checks_total",
    "gnomon_wait_duration_seconds",
    "gnomon_action_duration_seconds",
    "gnomon_fire_lag_seconds",
    "gnomon_queue_depth",
    "gnomon_active_jobs",
    "gnomon_breaker_state",
    "gnomon_retries_total",
    "gnomon_enqueue_errors_total",
    "gnomon_skips_total",
    "gnomon_events_total",
    "gnomon_gateway_connections",
    "gnomon_actor_restarts_total",
    "gnomon_mailbox_depth",
    "gnomon_store_commit_seconds",
)
