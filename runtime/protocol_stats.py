"""``stats.fires``: fires and run outcomes per minute over the last hour (its params and
result), from the daemon's in-memory window (runtime/fire_window.py)."""

from __future__ import annotations

from datetime import datetime

import attrs

from gnomon.runtime.fire_window import MINUTES


@attrs.frozen(kw_only=True)
class FiresParams:
    """How many of the last minutes (1–60), the current one last."""

    minutes: int = attrs.field(
        default=MINUTES, validator=[attrs.validators.ge(1), attrs.validators.le(MINUTES)]
    )


@attrs.frozen(kw_only=True)
class FireMinute:
    """One minute from ``start``: ``fired`` fires (``lag_samples`` of them scheduled, with
    the worst and the mean fire lag in seconds) and run outcomes by name."""

    start: datetime
    fired: int
    lag_samples: int
    worst_lag: float
    mean_lag: float
    outcomes: dict[str, int]


@attrs.frozen(kw_only=True)
class FireStats:
    """The minutes oldest first; ``now`` is the daemon's clock when it answered."""

    now: datetime
    minutes: tuple[FireMinute, ...]
