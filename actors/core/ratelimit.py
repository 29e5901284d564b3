"""Token buckets for admission rate limits (CONTRACT §5: global 5/s burst 20, per owner
1/s burst 10), as pure values.

A request is admitted only when *every* bucket it is charged to has a token, and then
each is charged; a refusal charges nothing (the predecessor spent the global token even
when the owner's bucket refused). A rate of 0 disables that bucket.
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

    def wait_for_token(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        if self.rate == 0:
            return 0.0
        missing = 1.0 - self.level(now)
        return 0.0 if missing <= 0 else missing / self.rate

    def charged(self, now: float) -> Bucket:
        """This bucket after taking one token (callers check availability first)."""
        if self.rate == 0:
            return self
        return attrs.evolve(self, tokens=self.level(now) - 1.0, updated=now)


@attrs.frozen
class Admission:
    """``allowed``, or refused with ``retry_after`` seconds."""

    allowed: bool
    retry_after: float = 0.0


def admit(buckets: Sequence[Bucket], now: float) -> tuple[tuple[Bucket, ...], Admission]:
    """Charge every bucket if all have a token; otherwise charge none.

    Returns the buckets afterwards (same order) and the decision; ``retry_after`` is the
    longest wait among the refusing buckets, rounded up to the millisecond.
    """
    waits = [b.wait_for_token(now) for b in buckets]
    longest = max(waits, default=0.0)
    if longest > 0:
        return tuple(buckets), Admission(False, math.ceil(longest * 1000) / 1000)
    return tuple(b.charged(now) for b in buckets), Admission(True)
