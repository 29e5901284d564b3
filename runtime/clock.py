"""One clock for all scheduling time.

Wall time (``now()``, aware UTC) decides *which* slot is due; trio time
(``trio.current_time()``) is what trio sleeps on. A :class:`Clock` converts between the
two so that actors can wait with ``move_on_at(clock.deadline_for(when))``.

* :class:`SystemClock` reads ``time.time()``. ``sleep_until`` naps in slices of at most
  :data:`MAX_NAP` seconds and re-reads the wall clock after each, so an NTP step, a
  suspend/resume or a manual clock change never makes it sleep through a fire.
* :class:`VirtualClock` derives wall time from trio time. Under
  ``trio.testing.MockClock(autojump_threshold=0)`` days of schedules run in
  milliseconds and timestamps are exact. Never use threads or real I/O in such tests:
  the autojump clock leaps while a worker thread runs (trio#456).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import trio

MAX_NAP = 30.0


@runtime_checkable
class Clock(Protocol):
    """Wall time plus the bridge to trio deadlines."""

    def now(self) -> datetime:
        """The current wall time, timezone-aware, in UTC."""
        ...

    def deadline_for(self, when: datetime) -> float:
        """The trio deadline at which wall time will (by current estimate) reach ``when``."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once wall time has reached ``when``. Cancellable at any point."""
        ...


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when.isoformat()} given where an aware one is needed")


class SystemClock:
    """The real clock; robust to wall-clock jumps (see the module docstring).

    Args:
        wall: the wall-time source, seconds since the epoch (injectable for tests).
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall(), UTC)

    def deadline_for(self, when: datetime) -> float:
        _require_aware(when)
        return trio.current_time() + (when - self.now()).total_seconds()

    async def sleep_until(self, when: datetime) -> None:
        _require_aware(when)
        while True:
            remaining = (when - self.now()).total_seconds()
            if remaining <= 0:
                await trio.lowlevel.checkpoint()
                return
            await trio.sleep(min(remaining, MAX_NAP))


class VirtualClock:
    """Wall time that advances with trio time: ``now = epoch + (current_time - t0)``.

    ``t0`` is trio's time at construction, so build it inside ``trio.run`` (a test body
    or fixture).
    """

    def __init__(self, epoch: datetime) -> None:
        _require_aware(epoch)
        self.epoch = epoch.astimezone(UTC)
        self._t0 = trio.current_time()

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=trio.current_time() - self._t0)

    def deadline_for(self, when: datetime) -> float:
        _require_aware(when)
        return self._t0 + (when - self.epoch).total_seconds()

    async def sleep_until(self, when: datetime) -> None:
        await trio.sleep_until(self.deadline_for(when))
