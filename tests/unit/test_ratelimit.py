"""Admission token buckets: all-or-nothing charging and exact retry times."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gnomon.actors.core.ratelimit import Bucket, admit

GLOBAL = Bucket(rate=5, burst=20)
OWNER = Bucket(rate=1, burst=10)


def test_burst_then_refusal_with_retry_after() -> None:
    """An owner gets its burst of 10 at once, then one per second."""
    buckets: tuple[Bucket, ...] = (GLOBAL, OWNER)
    for _ in range(10):
        buckets, decision = admit(buckets, 0.0)
        assert decision.allowed
    buckets, decision = admit(buckets, 0.0)
    assert not decision.allowed
    assert decision.retry_after == 1.0
    _, later = admit(buckets, 1.0)
    assert later.allowed


def test_refusal_charges_no_bucket() -> None:
    """When the owner's bucket refuses, the global token is not spent (reference bug)."""
    owner = Bucket(rate=1, burst=1)
    buckets, first = admit((GLOBAL, owner), 0.0)
    assert first.allowed
    before = buckets[0].level(0.0)
    after, refused = admit(buckets, 0.0)
    assert not refused.allowed
    assert after[0].level(0.0) == before


def test_zero_rate_disables_a_bucket() -> None:
    """A rate of 0 never refuses."""
    buckets: tuple[Bucket, ...] = (Bucket(rate=0, burst=1),)
    for _ in range(100):
        buckets, decision = admit(buckets, 0.0)
        assert decision.allowed


@given(st.lists(st.floats(0, 2), max_size=200))
def test_never_more_than_burst_plus_rate_times_elapsed(gaps: list[float]) -> None:
    """Over any run, admissions never exceed burst + rate × elapsed time."""
    bucket: tuple[Bucket, ...] = (Bucket(rate=2, burst=5),)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        bucket, decision = admit(bucket, now)
        admitted += decision.allowed
        assert admitted <= 5 + 2 * now + 1e-9


def test_a_batch_is_charged_all_at_once() -> None:
    """``count`` tokens are taken together: a batch of 8 leaves 2 of an owner's 10, and a
    batch of 3 then waits for the missing one without spending anything."""
    buckets, decision = admit((GLOBAL, OWNER), 0.0, count=8)
    assert decision.allowed
    assert buckets[1].level(0.0) == 2.0
    after, refused = admit(buckets, 0.0, count=3)
    assert (refused.allowed, refused.retry_after) == (False, 1.0)
    assert after == buckets
    _, later = admit(buckets, 1.0, count=3)
    assert later.allowed


def test_a_batch_over_the_burst_can_never_pass() -> None:
    """More tokens than a bucket's burst is refused with an infinite retry time."""
    _, decision = admit((GLOBAL, OWNER), 0.0, count=11)
    assert not decision.allowed
    assert decision.retry_after == float("inf")


@given(st.lists(st.tuples(st.floats(0, 2), st.integers(1, 6)), max_size=100))
def test_batches_never_exceed_burst_plus_rate_times_elapsed(steps: list[tuple[float, int]]) -> None:
    """Over any run of batches, admitted jobs never exceed burst + rate × elapsed time."""
    bucket: tuple[Bucket, ...] = (Bucket(rate=2, burst=5),)
    now, admitted = 0.0, 0
    for gap, count in steps:
        now += gap
        bucket, decision = admit(bucket, now, count=count)
        admitted += count if decision.allowed else 0
        assert admitted <= 5 + 2 * now + 1e-9
