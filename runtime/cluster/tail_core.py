"""The pure cursor of the event tail: what a node may publish to its bus, and when.

In a cluster every node's bus must carry every durable event of every node exactly once,
in ``seq`` order, without a gap (docs/cluster.md, "Events on every node"). The tail's
shell (:mod:`.tail`) feeds a :class:`Cursor` from two sources:

- **reads** of the shared ``events`` table (``seq > cursor ORDER BY seq``), woken by a
  NOTIFY or by the periodic catch-up;
- this node's **own commits**, handed over by its store's writer right after they
  committed, so that they need no read when nothing of another node came between.

The cursor publishes only what continues its run seq by seq: an own commit whose first
``seq`` is not the next one waits for the read (an earlier commit of another node is not
on the bus yet), and anything at or below the cursor is a duplicate and dropped. A read
that starts with a gap (the events were pruned: commits under the chain head's lock
become visible in ``seq`` order, so a reader never sees a later commit without the
earlier ones) is held back until the gap has lasted ``gap_grace`` seconds, then skipped
and counted.

No trio and no database here; ``tests/unit/test_cluster_tail_core.py`` checks it against
random interleavings of writers, reads and own commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

import attrs

__all__ = ["Cursor", "HasSeq"]


class HasSeq(Protocol):
    """An event: anything with a ``seq``."""

    @property
    def seq(self) -> int: ...


E = TypeVar("E", bound=HasSeq)


@attrs.define
class Cursor(Generic[E]):
    """The last published ``seq`` and the rules to move it (see the module docstring).

    Attributes:
        published: the ``seq`` of the last event published (the start: the chain head).
        gap_grace: how long a read's leading gap is waited for before it is skipped.
        gap_since: when the current leading gap was first seen (``None``: no gap).
        skipped: how many ``seq`` values were skipped over gaps (pruned events).
    """

    published: int
    gap_grace: float = 1.0
    gap_since: float | None = None
    skipped: int = 0

    def behind(self, head: int) -> bool:
        """Whether an event up to ``head`` (a NOTIFY's payload) is not published yet."""
        return head > self.published

    def own(self, events: Sequence[E]) -> list[E]:
        """This node's just-committed ``events`` (ascending): the ones to publish now —
        all of them when they continue the run, none otherwise (the read brings them)."""
        fresh = [e for e in events if e.seq > self.published]
        if not fresh or fresh[0].seq != self.published + 1:
            return []
        return self._take(fresh)

    def read(self, rows: Sequence[E], now: float) -> list[E]:
        """A page read from the table (ascending): the events to publish now, in order.

        A leading gap publishes nothing until it has lasted :attr:`gap_grace` (seconds on
        the caller's clock ``now``); then it is skipped.
        """
        fresh = [e for e in rows if e.seq > self.published]
        if not fresh:
            self.gap_since = None
            return []
        first = fresh[0].seq
        if first != self.published + 1:
            if self.gap_since is None:
                self.gap_since = now
            if now - self.gap_since < self.gap_grace:
                return []
            self.skipped += first - self.published - 1
            self.published = first - 1
        self.gap_since = None
        return self._take(fresh)

    def _take(self, fresh: Sequence[E]) -> list[E]:
        out: list[E] = []
        for event in fresh:
            if event.seq != self.published + 1:
                break
            out.append(event)
            self.published = event.seq
        return out
