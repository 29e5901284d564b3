"""Retry delays: exponential backoff with jitter, first retry at ``backoff_initial``.

Retry *n* (1-based) waits ``min(backoff_max, backoff_initial · backoff_mult^(n-1))``
seconds, then ± ``backoff_jitter`` of itself, uniform from the injected rng; never
negative. A fire makes at most ``max_retries + 1`` attempts; ``max_retries=0`` means no
retry at all. With the defaults (1 s, ×2, cap 300 s, jitter 0.2, 3 retries)::

    retry   base delay   with jitter 0.2      attempt starts (runs take 0 s, no jitter)
    1       1 s          0.8 – 1.2 s          t = 1
    2       2 s          1.6 – 2.4 s          t = 3
    3       4 s          3.2 – 4.8 s          t = 7
    (9      256 s, 10+   300 s: the cap, when max_retries allows that many)

The reference implementation waited ``initial · mult`` before the *first* retry (an
off-by-one: 2, 4, 8 s); this module does not.
"""

from __future__ import annotations

import math
import random

from gnomon.runtime.model.job import Budget


def may_retry(budget: Budget, attempts: int) -> bool:
    """True when a fire that has made ``attempts`` attempts may make another."""
    return attempts < budget.max_retries + 1


def base_delay(budget: Budget, retry_number: int) -> float:
    """The delay before retry ``retry_number`` without jitter.

    Raises:
        ValueError: ``retry_number`` is not in ``1..max_retries``.
    """
    if not 1 <= retry_number <= budget.max_retries:
        raise ValueError(
            f"retry {retry_number} is out of range: this budget allows retries "
            f"1..{budget.max_retries}"
        )
    initial, cap, mult = budget.backoff_initial, budget.backoff_max, budget.backoff_mult
    if initial == 0 or cap == 0:
        return 0.0
    # Compare in log space so that a large retry number cannot overflow the float pow.
    if initial >= cap or (retry_number - 1) * math.log(mult) >= math.log(cap / initial):
        return cap
    return float(initial * mult ** (retry_number - 1))


def retry_delay(budget: Budget, retry_number: int, rng: random.Random) -> float:
    """Seconds to wait before retry ``retry_number`` (1-based), jitter included.

    Raises:
        ValueError: ``retry_number`` is not in ``1..max_retries`` (so always with
            ``max_retries=0``).
    """
    delay = base_delay(budget, retry_number)
    jitter = budget.backoff_jitter
    if jitter > 0 and delay > 0:
        delay *= 1.0 + rng.uniform(-jitter, jitter)
    return max(0.0, delay)
