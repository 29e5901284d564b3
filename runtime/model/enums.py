"""The closed vocabularies of the job model (docs/commands.md, docs/engine.md, docs/protocol.md).

Every value here is public: it appears in flags, JSON and events. Add, never rename.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life. The last five are terminal."""

    PENDING = "pending"
    BLOCKED = "blocked"
    WAITING = "waiting"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"

    @property
    def terminal(self) -> bool:
        """True for completed, failed, cancelled, timed_out and skipped."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.TIMED_OUT,
        JobStatus.SKIPPED,
    }
)


class Outcome(StrEnum):
    """The result of one execution (an attempt, a fallback or a wait poll)."""

    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    BREAKER_OPEN = "breaker_open"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"  # a planned daemon stop ended the run; re-run at next start


class OnTimeout(StrEnum):
    """What a wait deadline (or ``max_polls``) does."""

    FAIL = "fail"
    FIRE_ANYWAY = "fire_anyway"
    FALLBACK = "fallback"


class TriggerRule(StrEnum):
    """When a job with ``depends_on`` may run (Airflow's trigger rules)."""

    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    NONE_FAILED = "none_failed"


class TriggersOn(StrEnum):
    """Which ends of a job start its ``triggers`` templates."""

    SUCCESS = "success"
    FAILURE = "failure"
    DONE = "done"


class Overlap(StrEnum):
    """What a fire does while the previous run of the same job still runs."""

    SKIP = "skip"
    QUEUE = "queue"
    ALLOW = "allow"
    CANCEL_PREVIOUS = "cancel_previous"


class Misfire(StrEnum):
    """What happens to slots missed while the daemon was down or late."""

    FIRE_ONCE = "fire_once"
    FIRE_ALL = "fire_all"
    SKIP = "skip"


class DstGap(StrEnum):
    """A cron slot that falls in a spring-forward gap: run at the shifted time, or skip."""

    SHIFT = "shift"
    SKIP = "skip"


class DstFold(StrEnum):
    """A cron slot that occurs twice on a fall-back day: run the first, the last, or both."""

    FIRST = "first"
    LAST = "last"
    BOTH = "both"


class OwnerKind(StrEnum):
    """Who owns a job: a person, an agent token, the daemon itself, or another job."""

    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"
    JOB = "job"


class SkipReason(StrEnum):
    """Reason codes of ``job.skipped`` events and ``gnomon_skips_total{reason}``."""

    MISFIRE = "misfire"
    OVERLAP = "overlap"
    PAUSED = "paused"
    BREAKER_OPEN = "breaker_open"
    RATE_LIMITED = "rate_limited"
    DST_GAP = "dst_gap"
    DEPENDENCY_FAILED = "dependency_failed"
    POLICY = "policy"
    CONCURRENCY = "concurrency"
    EXCLUDED = "excluded"
