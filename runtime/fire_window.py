"""The last hour of fires and run outcomes, per minute, in memory: ``stats.fires``.

The dashboard's charts are drawn from this aggregate, not from the events a page happens
to hold. :class:`FireWindow` is fed every committed event by the event bus (a listener:
cheap, synchronous) and keeps one :class:`Minute` per wall-clock minute of event time,
dropping minutes older than :data:`MINUTES`. What it counts is what the metrics count
(runtime/metrics.py): a ``job.fired`` is one fire and, when it carries ``lag``, one lag
sample; an event with ``run_id``, an outcome and ``duration`` is one run outcome.

History: events committed before the listener saw its first one (an earlier boot, or
this boot's start) are read once from the store by :meth:`FireWindow.prime`. The
boundary between the two is a seq: the listener counts only events after it, the prime
only events up to it (into a scratch window, added at the end: a prime cut short adds
nothing), so no event is counted twice or missed. Pure: no trio here (the
handler with the store is actors/fire_stats.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import attrs

from gnomon.runtime.model import payloads
from gnomon.runtime.model.events import Event, EventType

#: Minutes kept (and the most ``stats.fires`` answers).
MINUTES = 60


@attrs.define
class Minute:
    """One minute's counts: fires, the worst and the summed fire lag, run outcomes."""

    fired: int = 0
    lag_samples: int = 0
    worst_lag: float = 0.0
    lag_sum: float = 0.0
    outcomes: dict[str, int] = attrs.field(factory=dict)


def _minute_of(at: datetime) -> int:
    return int(at.timestamp() // 60)


class FireWindow:
    """See the module docstring."""

    def __init__(self) -> None:
        self._minutes: dict[int, Minute] = {}
        self._newest = -(1 << 62)  # the newest minute counted
        self.boundary: int | None = None  # events at or below it are the prime's
        self.primed = False

    def observe(self, event: Event) -> None:
        """The bus listener: count ``event`` unless the prime covers it."""
        if self.boundary is None:
            self.boundary = event.seq - 1
        if event.seq > self.boundary:
            self._count(event)

    def count_history(self, history: Iterable[Event]) -> None:
        """Count stored events up to :attr:`boundary` (the prime's pages, oldest first)."""
        for event in history:
            if self.boundary is None or event.seq <= self.boundary:
                self._count(event)

    def absorb(self, history: FireWindow) -> None:
        """Add the counts of ``history`` (a window the prime filled) and mark this one
        primed."""
        for key, theirs in history._minutes.items():
            mine = self._minutes.setdefault(key, Minute())
            mine.fired += theirs.fired
            mine.lag_samples += theirs.lag_samples
            mine.lag_sum += theirs.lag_sum
            mine.worst_lag = max(mine.worst_lag, theirs.worst_lag)
            for name, n in theirs.outcomes.items():
                mine.outcomes[name] = mine.outcomes.get(name, 0) + n
        if self._minutes:
            self._newest = max(self._minutes)
            self._drop_before(self._newest - MINUTES + 1)
        self.primed = True

    def _count(self, event: Event) -> None:
        fired = event.type is EventType.JOB_FIRED
        ended = payloads.RunEnded.read(event)
        if not (fired or ended):
            return
        key = _minute_of(event.timestamp)
        if key <= self._newest - MINUTES:
            return  # older than the window
        minute = self._minutes.get(key)
        if minute is None:
            minute = self._minutes[key] = Minute()
            if key > self._newest:
                self._newest = key
                self._drop_before(key - MINUTES + 1)
        if fired:
            minute.fired += 1
            lag = payloads.Fired.read(event.payload).lag
            if lag is not None:
                minute.lag_samples += 1
                minute.lag_sum += lag
                minute.worst_lag = max(minute.worst_lag, lag)
        if ended is not None:
            name = ended.outcome
            minute.outcomes[name] = minute.outcomes.get(name, 0) + 1

    def _drop_before(self, key: int) -> None:
        for old in [k for k in self._minutes if k < key]:
            del self._minutes[old]

    def snapshot(self, now: datetime, minutes: int = MINUTES) -> list[tuple[datetime, Minute]]:
        """The last ``minutes`` minutes ending with ``now``'s, oldest first, each with its
        start (a minute with nothing is an empty :class:`Minute`)."""
        last = _minute_of(now)
        out = []
        for key in range(last - minutes + 1, last + 1):
            start = datetime.fromtimestamp(key * 60, UTC)
            out.append((start, self._minutes.get(key) or Minute()))
        return out


def cutoff(now: datetime) -> datetime:
    """The start of the oldest minute the window keeps at ``now``."""
    return datetime.fromtimestamp((_minute_of(now) - MINUTES + 1) * 60, UTC)
