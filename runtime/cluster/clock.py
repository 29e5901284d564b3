"""The database clock: the local wall clock plus an offset sampled from PostgreSQL.

Every node of a cluster decides which slot is due by the same clock, the database's, so a
node whose own clock is 30 s fast fires nothing early. The offset comes from the
membership's lease renewals (each one reads ``clock_timestamp()``), corrected by half the
round trip (:class:`.core.OffsetEstimator`); leases themselves are checked in SQL with
``now()`` and never depend on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gnomon.runtime.clock import SystemClock
from gnomon.runtime.cluster.core import OffsetEstimator


class DbClock(SystemClock):
    """A :class:`~gnomon.runtime.clock.SystemClock` reading ``time.time() + offset``.

    Before the first sample the offset is 0 (the local clock); :meth:`observe` feeds
    samples. ``sleep_until`` re-reads the clock at least every 30 s, so an offset that
    moves is honoured on the next nap.
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._local = wall
        self.estimate = OffsetEstimator()
        super().__init__(wall=self._db_wall)

    def local(self) -> float:
        """The local wall clock, unix seconds (what samples are taken against)."""
        return self._local()

    def _db_wall(self) -> float:
        return self._local() + self.estimate.offset

    @property
    def offset(self) -> float:
        """Seconds the database clock is ahead of the local one (negative: behind)."""
        return self.estimate.offset

    def observe(self, sent: float, db_time: float, received: float) -> None:
        """One sample: local wall times around a read of the database's clock."""
        self.estimate.add(sent, db_time, received)

    def sample(self, read_db: Callable[[], float]) -> None:
        """Take a sample by calling ``read_db`` (blocking; returns the database's unix time)."""
        sent = self._local()
        db_time = read_db()
        self.observe(sent, db_time, self._local())
