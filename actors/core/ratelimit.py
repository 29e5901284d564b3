"""Token buckets for admission rate limits (docs/engine.md: global 5/s burst 20, per owner
1/s burst 10), as pure values.

A request is admitted only when *every* bucket it is charged to has its tokens — one per
new job, ``count`` at once for a bulk create —, and then each is charged; a refusal
charges nothing (the predecessor spent the global token even when the owner's bucket
refused). A rate of 0 disables that bucket. A request for more tokens than a bucket's
burst can never pass: its ``retry_after`` is infinite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs


@attrs.frozen(kw_only=True)
class Bucket:
    """A token bucket: ``rate`` tokens per second, at most ``burst``, full when new."""

    rate: float = attrs.field(validator=attrs.validators.ge(0))
    burst: float = attrs.field(validator=attrs.validators.ge(1))
    tokens: float | None = None
    updated: float | None = None

    def level(self, now: float) -> float:
        """Tokens available at ``now``."""
        if self.tokens is None or self.updated is None:
            return self.burst
        return min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)

    def wait_for_token(self, now: float, count: float = 1.0) -> float:
        """Seconds until ``count`` tokens are available (0 when they are; infinite when
        ``count`` is more than the burst)."""
        if self.rate == 0:
            return 0.0
        if count > self.burst:
            return math.inf
        missing = count - self.level(now)
        return 0.0 if missing <= 0 else missing / self.rate

    def charged(self, now: float, count: float = 1.0) -> Bucket:
        """This bucket after taking ``count`` tokens (callers check availability first)."""
        if self.rate == 0:
            return self
        return attrs.evolve(self, tokens=self.level(now) - count, updated=now)


@attrs.frozen
class Admission:
    """``allowed``, or refused with ``retry_after`` seconds."""

    allowed: bool
    retry_after: float = 0.0


def admit(
    buckets: Sequence[Bucket], now: float, count: float = 1.0
) -> tuple[tuple[Bucket, ...], Admission]:
    """Charge ``count`` tokens to every bucket if all have them; otherwise charge none.

    Returns the buckets afterwards (same order) and the decision; ``retry_after`` is the
    longest wait among the refusing buckets, rounded up to the millisecond (infinite when
    ``count`` exceeds a bucket's burst).
    """
    waits = [b.wait_for_token(now, count) for b in buckets]
    longest = max(waits, default=0.0)
    if longest > 0:
        retry = longest if math.isinf(longest) else math.ceil(longest * 1000) / 1000
        return tuple(buckets), Admission(False, retry)
    return tuple(b.charged(now, count) for b in buckets), Admission(True)
