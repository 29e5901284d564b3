"""The pure rules of cluster membership: fair shares, lease trust, settling after an
outage, clock offsets.

No trio and no database here: :mod:`.sql` applies these decisions in PostgreSQL and
:mod:`.membership` drives them on a timer. Everything is a function of explicit inputs,
so the property tests in ``tests/unit/test_cluster_core.py`` and
``tests/cluster/test_settling.py`` can check them on random histories.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Set

import attrs

__all__ = [
    "DEFAULT_PARTITIONS",
    "LeaseTimes",
    "OffsetEstimator",
    "Plan",
    "Settling",
    "fair_share",
    "first_line",
    "lost",
    "partition_of",
    "plan",
]

#: Partitions in a new cluster database (fixed for its lifetime; stored in ``cluster_meta``).
DEFAULT_PARTITIONS = 64
#: The least time between the end of a self-fence's kills and the lease's expiry.
MIN_SLACK = 0.1


def first_line(exc: BaseException) -> str:
    """The first line of an error's message, for a one-line log record (libpq adds hint
    lines such as ``Is the server running on that host …?``); the type's name if empty."""
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def partition_of(job_id: str, partitions: int) -> int:
    """The partition a job belongs to: ``crc32(id) % partitions`` (stable across nodes)."""
    return zlib.crc32(job_id.encode()) % partitions


def fair_share(partitions: int, live_nodes: int) -> int:
    """How many partitions one node may hold: ``ceil(partitions / live_nodes)``.

    ``live_nodes`` counts the asking node too; below 1 it is taken as 1. With the ceiling
    the shares of all live nodes cover every partition, so none is left unowned.
    """
    return math.ceil(partitions / max(1, live_nodes))


@attrs.frozen
class Plan:
    """What one tick should do: take up to ``take`` free or expired partitions and release
    ``release`` (held ones, highest first, so that nodes converge without churn)."""

    take: int
    release: tuple[int, ...]


def plan(held: Iterable[int], partitions: int, live_nodes: int) -> Plan:
    """The tick's plan for a node holding ``held`` among ``live_nodes`` live nodes."""
    mine = sorted(set(held))
    share = fair_share(partitions, live_nodes)
    if len(mine) > share:
        return Plan(take=0, release=tuple(mine[share:]))
    return Plan(take=share - len(mine), release=())


@attrs.define
class Settling:
    """The rule that keeps a node coming back after an outage from taking its peers'
    partitions only to give them back a beat later.

    When the database was down for everyone longer than the TTL, every lease lapsed. The
    first node whose renewal succeeds again would see itself alone, take all partitions
    (its peers' ones as "expired") and give half back as soon as the peers renew: those
    partitions would move twice. So a node that comes back from its self-fence
    (:meth:`back`) *spares*, for ``window`` seconds, the peers whose lease ran out while
    it was away (live at its last renewal before, lapsed now, still holding partitions —
    none of them was taken over meanwhile): it counts them as live for its fair share and
    does not take their partitions. A spared peer that renews becomes
    live and is counted as such; one that has not renewed when the window ends is dead
    and its partitions are taken then, a window later than a plain takeover.

    The window is one beat (the peers retry their renewal every beat) plus the fence
    margin (the bound on one try, a connection that hangs included). A node that never
    fenced never spares anyone: a peer dying while this node renews normally is taken
    over as soon as its lease runs out.
    """

    window: float
    spared: frozenset[str] = frozenset()
    until: float = -math.inf

    def back(self, lapsed: Iterable[str], now: float) -> None:
        """This node renewed again after a fence, at ``now``; ``lapsed``: the peers whose
        lease ran out since its last renewal before the fence."""
        self.spared = frozenset(lapsed)
        self.until = now + self.window if self.spared else -math.inf

    def spare(self, live: Set[str], now: float) -> frozenset[str]:
        """The peers to spare at ``now``: those still lapsed (not in ``live``) while the
        window lasts; none after it."""
        if now >= self.until:
            self.spared = frozenset()
            return frozenset()
        return self.spared - live

    def left(self, now: float) -> float | None:
        """Seconds until the window ends (None when no window is open): the planner
        looks again then, so the dead among the spared are taken over at once."""
        return self.until - now if self.spared and now < self.until else None


@attrs.frozen
class LeaseTimes:
    """The lease timing of one node, in seconds.

    A renewal sent at local monotonic time ``t`` sets ``lease_until = now() + ttl`` by the
    database clock, and the database's ``now()`` is never earlier than the send, so the
    lease cannot expire for other nodes before ``t + ttl``. The node trusts it only until
    ``t + ttl - margin``: then it stops committing and kills its process groups (which
    takes up to ``kill_grace``), so it is silent before anyone else may take over.
    """

    beat: float = 1.0
    ttl: float = 5.0
    margin: float = 1.5
    kill_grace: float = 0.5

    def __attrs_post_init__(self) -> None:
        if not 0 < self.beat < self.ttl:
            raise ValueError(f"cluster beat {self.beat}s must be > 0 and < the TTL {self.ttl}s")
        if not self.kill_grace + MIN_SLACK <= self.margin < self.ttl - self.beat:
            raise ValueError(
                f"cluster margin {self.margin}s must exceed the kill grace {self.kill_grace}s"
                f" by {MIN_SLACK}s and leave more than one beat ({self.beat}s) of the TTL"
                f" {self.ttl}s"
            )

    def trusted_until(self, sent_at: float) -> float:
        """Until when a renewal sent at ``sent_at`` (monotonic) may be relied upon."""
        return sent_at + self.ttl - self.margin

    @property
    def settle(self) -> float:
        """The window of :class:`Settling`: a beat, plus the margin that bounds a try."""
        return self.beat + self.margin

    def fenced(self, last_renewal_sent: float | None, now: float) -> bool:
        """Whether a node whose last successful renewal was sent at ``last_renewal_sent``
        must have fenced itself by ``now`` (never renewed: fenced)."""
        return last_renewal_sent is None or now >= self.trusted_until(last_renewal_sent)


@attrs.define
class OffsetEstimator:
    """The database clock's offset from the local wall clock, from round-trip samples.

    A sample is ``(sent, db_time, received)``, all in unix seconds: the database read its
    clock somewhere between ``sent`` and ``received``, so ``db_time - midpoint`` is the
    offset with an error of at most half the round trip. Of the last ``keep`` samples the
    one with the shortest round trip wins (a slow reply is the least precise).
    """

    keep: int = 8
    _samples: list[tuple[float, float]] = attrs.field(factory=list)

    def add(self, sent: float, db_time: float, received: float) -> None:
        rtt = max(0.0, received - sent)
        self._samples.append((rtt, db_time - (sent + received) / 2))
        del self._samples[: -self.keep]

    @property
    def offset(self) -> float:
        """Seconds to add to the local wall clock to read the database's (0 without data)."""
        if not self._samples:
            return 0.0
        return min(self._samples)[1]

    @property
    def error(self) -> float:
        """The bound on :attr:`offset`'s error: half the best round trip (inf without data)."""
        return min(self._samples)[0] / 2 if self._samples else math.inf


def lost(held: Mapping[int, int], in_db: Mapping[int, int]) -> set[int]:
    """Partitions this node believes it holds but the database says it does not hold at
    that epoch (taken over while it was slow): they must be dropped at once."""
    return {p for p, epoch in held.items() if in_db.get(p) != epoch}
