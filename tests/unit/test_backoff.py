"""Retry delays: the formula, the first-retry fix, jitter bounds and the no-retry budget."""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.actors.core.backoff import base_delay, may_retry, retry_delay
from gnomon.runtime.model.job import Budget

NO_JITTER = Budget(backoff_jitter=0.0)


def test_defaults_without_jitter_wait_1_2_4_seconds() -> None:
    """With the default budget and no jitter, retries 1–3 wait 1, 2 and 4 seconds."""
    rng = random.Random(0)
    assert [retry_delay(NO_JITTER, n, rng) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]


def test_first_retry_waits_initial_not_initial_times_mult() -> None:
    """The first retry waits backoff_initial (the reference waited initial·mult)."""
    budget = Budget(backoff_initial=7.0, backoff_mult=3.0, backoff_jitter=0.0)
    assert base_delay(budget, 1) == 7.0
    assert base_delay(budget, 2) == 21.0


def test_three_retries_from_ten_seconds_start_at_0_10_30_70() -> None:
    """Retry 3× from a 10 s base: attempts start at t = 0, 10, 30 and 70 (instant runs)."""
    budget = Budget(backoff_initial=10.0, backoff_jitter=0.0, max_retries=3)
    starts, t = [0.0], 0.0
    for n in range(1, 4):
        t += retry_delay(budget, n, random.Random(n))
        starts.append(t)
    assert starts == [0.0, 10.0, 30.0, 70.0]


def test_delay_is_capped_at_backoff_max() -> None:
    """Delays stop growing at backoff_max, even for huge retry numbers (no overflow)."""
    budget = Budget(max_retries=100_000, backoff_jitter=0.0)
    assert base_delay(budget, 9) == 256.0
    assert base_delay(budget, 10) == 300.0
    assert base_delay(budget, 100_000) == 300.0


def test_initial_above_max_is_capped() -> None:
    """An initial delay above the cap waits the cap."""
    budget = Budget(backoff_initial=600.0, backoff_max=60.0, backoff_jitter=0.0)
    assert base_delay(budget, 1) == 60.0


def test_zero_initial_means_immediate_retries() -> None:
    """backoff_initial 0 retries at once, with or without jitter."""
    assert retry_delay(Budget(backoff_initial=0.0), 3, random.Random(1)) == 0.0


def test_max_retries_zero_means_no_retry() -> None:
    """max_retries=0 allows one attempt and no retry delay at all."""
    budget = Budget(max_retries=0)
    assert may_retry(budget, 0)
    assert not may_retry(budget, 1)
    with pytest.raises(ValueError, match=r"allows retries 1\.\.0"):
        retry_delay(budget, 1, random.Random(0))


def test_retry_number_must_be_in_range() -> None:
    """Retry 0 and retries past max_retries are refused with the valid range."""
    with pytest.raises(ValueError, match=r"retry 0 is out of range"):
        base_delay(Budget(), 0)
    with pytest.raises(ValueError, match=r"retry 4 is out of range.*1\.\.3"):
        base_delay(Budget(), 4)


def test_attempts_bounded_by_max_retries_plus_one() -> None:
    """may_retry allows exactly max_retries + 1 attempts."""
    budget = Budget(max_retries=3)
    assert [may_retry(budget, a) for a in range(6)] == [True] * 4 + [False] * 2


@settings(max_examples=200)
@given(
    initial=st.floats(0.0, 1000.0),
    mult=st.floats(1.0, 10.0),
    cap=st.floats(0.0, 10_000.0),
    jitter=st.floats(0.0, 0.5),
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32),
)
def test_jitter_stays_within_its_band(
    initial: float, mult: float, cap: float, jitter: float, n: int, seed: int
) -> None:
    """Jittered delays stay within ± jitter of the capped base and are never negative."""
    budget = Budget(
        backoff_initial=initial,
        backoff_mult=mult,
        backoff_max=cap,
        backoff_jitter=jitter,
        max_retries=60,
    )
    base = base_delay(budget, n)
    assert base <= max(cap, 0.0)
    delay = retry_delay(budget, n, random.Random(seed))
    assert delay >= 0.0
    assert base * (1 - jitter) - 1e-9 <= delay <= base * (1 + jitter) + 1e-9


def test_same_seed_same_delay() -> None:
    """The delay depends only on the injected rng: same seed, same delay."""
    budget = attrs.evolve(Budget(), backoff_jitter=0.5)
    assert retry_delay(budget, 2, random.Random(42)) == retry_delay(budget, 2, random.Random(42))
