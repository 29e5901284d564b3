"""Coalesce concurrent single-key reads into batched reads.

When a storm of jobs is activated at once, each job actor loads its own state: thousands
of one-row reads, each a hop to the store's thread that queues (FIFO) in front of the
writer's commits. :class:`Coalescer` turns the reads that arrive together into one read of
many keys per hop.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

import trio

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Slot(Generic[V]):
    """One key's answer, shared by every caller waiting for it."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.value: V | None = None
        self.error: Exception | None = None

    async def wait(self) -> V | None:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class Coalescer(Generic[K, V]):
    """``get(key)`` calls served by ``read_many(keys)``, at most ``max_batch`` keys a read.

    The first caller of a round leads: it yields once so that the callers woken with it
    can join, then reads batch after batch until nobody is waiting, handing each caller
    its value (``None`` when ``read_many`` did not return the key). The leader's reads
    are shielded, so cancelling it never strands the others; a cancelled follower only
    stops waiting. An exception from ``read_many`` is raised in every caller of that batch.
    """

    def __init__(
        self,
        read_many: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        *,
        max_batch: int = 500,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._read_many = read_many
        self._max_batch = max_batch
        self._pending: dict[K, _Slot[V]] = {}
        self._leading = False
        self.reads = 0

    async def get(self, key: K) -> V | None:
        """The value of ``key`` (``None`` if absent). Raises what ``read_many`` raised."""
        slot = self._pending.get(key)
        if slot is None:
            slot = self._pending[key] = _Slot()
        if not self._leading:
            self._leading = True
            try:
                with trio.CancelScope(shield=True):
                    await self._lead()
            finally:
                self._leading = False
        return await slot.wait()

    async def _lead(self) -> None:
        await trio.lowlevel.checkpoint()  # the callers woken in this batch join the read
        while self._pending:
            keys = list(itertools.islice(self._pending, self._max_batch))
            batch = {key: self._pending.pop(key) for key in keys}
            self.reads += 1
            try:
                found = await self._read_many(keys)
            except Exception as exc:
                for slot in batch.values():
                    slot.error = exc
                    slot.done.set()
                continue
            for key, slot in batch.items():
                slot.value = found.get(key)
                slot.done.set()
