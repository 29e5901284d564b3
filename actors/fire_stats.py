"""``stats.fires``: the per-minute fire window (runtime/fire_window.py) over the protocol.

The window counts live events from the bus; the first call reads the events of the last
hour committed before that (once, under a lock, in pages of :data:`PAGE`, at most
:data:`MAX_PRIMED` of them: a busier hour shows its newest part only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import trio

from gnomon.runtime import protocol_names as names
from gnomon.runtime.fire_window import FireWindow, cutoff
from gnomon.runtime.model.events import Event
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_stats import FireMinute, FiresParams, FireStats
from gnomon.runtime.store import EventQuery

PAGE = 5000
MAX_PRIMED = 200_000
#: The event types the window counts (job.fired, and those a run's end is recorded with:
#: actors/core/job/fires.py END_EVENTS, retries, cancels, run.*); the store decodes only
#: these while priming.
COUNTED = (
    "job.fired",
    "job.completed",
    "job.failed",
    "job.timed_out",
    "job.skipped",
    "job.retry_queued",
    "job.cancelled",
    "run.*",
)
Handler = Callable[[Caller, Any], Awaitable[Any]]


class FireStatsMethods:
    """The handler of ``stats.fires`` (see the module docstring).

    Args:
        window: the window the bus feeds (a listener of the bus: ``runtime/daemon/parts.py``).
        events: the store's ``events`` reader; ``last_seq``: its committed seq.
        now: the daemon's clock.
    """

    def __init__(
        self,
        window: FireWindow,
        events: Callable[[EventQuery], Awaitable[list[Event]]],
        last_seq: Callable[[], Awaitable[int]],
        now: Callable[[], datetime],
    ) -> None:
        self.window = window
        self._events = events
        self._last_seq = last_seq
        self._now = now
        self._lock = trio.Lock()

    def handlers(self) -> dict[str, Handler]:
        return {names.STATS_FIRES: self.fires}

    async def fires(self, caller: Caller, p: FiresParams) -> FireStats:
        """The last ``p.minutes`` minutes. Cancellation: a prime cut short is redone by the
        next call. Raises the store's errors while priming (the call fails, the next one
        primes again)."""
        if not self.window.primed:
            await self._prime()
        now = self._now()
        return FireStats(
            now=now,
            minutes=tuple(
                FireMinute(
                    start=start,
                    fired=m.fired,
                    lag_samples=m.lag_samples,
                    worst_lag=round(m.worst_lag, 6),
                    mean_lag=round(m.lag_sum / m.lag_samples, 6) if m.lag_samples else 0.0,
                    outcomes=dict(m.outcomes),
                )
                for start, m in self.window.snapshot(now, p.minutes)
            ),
        )

    async def _prime(self) -> None:
        async with self._lock:
            if self.window.primed:
                return
            if self.window.boundary is None:
                self.window.boundary = await self._last_seq()
            upto = self.window.boundary
            since = cutoff(self._now())
            first = await self._events(EventQuery(since=since, limit=1))
            start = max(0, first[0].seq - 1) if first else upto
            start = max(start, upto - MAX_PRIMED)
            scratch = FireWindow()
            scratch.boundary = upto
            while start < upto:
                page = await self._events(
                    EventQuery(
                        since_seq=start, until_seq=upto, since=since, limit=PAGE, types=COUNTED
                    )
                )
                if not page:
                    break
                scratch.count_history(page)
                start = page[-1].seq
            self.window.absorb(scratch)
