"""A session's bounded outbound queue and its bound on requests in flight.

A client that pipelines requests and never reads its answers must not grow the daemon's
memory: answers wait in an :class:`Outbox` bounded by count *and* bytes, a request task
that finds it full waits, and the session's reader stops reading new requests while
:class:`InFlight` says the connection already has its share running (the unread bytes
then stay in the kernel's socket buffers and TCP pushes back on the client).
"""

from __future__ import annotations

from collections import deque

import attrs
import trio

#: Notifications one packed frame holds at most (docs/protocol.md, ``batch``).
PACK_MOST = 1024


@attrs.define
class _Pack:
    """``events.notify`` texts of one batch subscription, sent as one frame: while the
    writer has not taken it, later notes of that subscription join it."""

    key: str
    notes: list[str]
    size: int = 0  # the notes' characters (what the box's byte bound counts)

    def text(self) -> str:
        return self.notes[0] if len(self.notes) == 1 else "[" + ",".join(self.notes) + "]"


class Outbox:
    """Encoded frames waiting for the writer, at most ``max_items`` of them and about
    ``max_bytes`` (a frame is always let in when the box is empty, whatever its size)."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self._items: deque[str | _Pack] = deque()
        self._bytes = 0
        self._max_items, self._max_bytes = max_items, max_bytes
        self._space = trio.lowlevel.ParkingLot()
        self._data = trio.lowlevel.ParkingLot()

    @property
    def full(self) -> bool:
        return bool(self._items) and (
            len(self._items) >= self._max_items or self._bytes >= self._max_bytes
        )

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, text: str) -> None:
        """Queue ``text``, waiting while the box is full (if cancelled, it was not queued)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while self.full:
            await self._space.park()
        self._append(text)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def put_nowait(self, text: str) -> bool:
        """Queue ``text`` if there is room; ``False`` (nothing queued) if the box is full."""
        if self.full:
            return False
        self._append(text)
        return True

    def pack_nowait(self, key: str, notes: list[str]) -> bool:
        """Queue ``notes`` (notification texts) to go out as one frame — joining the
        newest queued frame if it is a pack of ``key`` the writer has not taken yet, so a
        slow reader gets fewer, larger frames; ``False`` (nothing queued) if the box is
        full."""
        tail = self._items[-1] if self._items else None
        if (
            isinstance(tail, _Pack)
            and tail.key == key
            and len(tail.notes) + len(notes) <= PACK_MOST
        ):
            if self._bytes >= self._max_bytes:
                return False
            added = sum(map(len, notes))
            tail.notes.extend(notes)
            tail.size += added
            self._bytes += added
            return True
        if self.full:
            return False
        self._append(_Pack(key, list(notes), sum(map(len, notes))))
        return True

    async def take(self, most: int) -> list[str]:
        """The oldest frames, at least one and at most ``most``, waiting for one (if
        cancelled, none was taken)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self._items:
            await self._data.park()
        taken = [self._items.popleft() for _ in range(min(most, len(self._items)))]
        self._bytes -= sum(map(_size, taken))
        batch = [item if isinstance(item, str) else item.text() for item in taken]
        self._space.unpark_all()
        await trio.lowlevel.cancel_shielded_checkpoint()
        return batch

    def _append(self, item: str | _Pack) -> None:
        self._items.append(item)
        self._bytes += _size(item)
        self._data.unpark()


def _size(item: str | _Pack) -> int:
    return len(item) if isinstance(item, str) else item.size


class InFlight:
    """Requests running on one connection, at most ``limit`` (a batch counts each call,
    up to ``limit``; cancels count for nothing). Only the session's reader acquires, so
    waiting is FIFO by nature."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self._freed = trio.lowlevel.ParkingLot()

    def weight(self, calls: int) -> int:
        """The slots ``calls`` requests take (never more than the whole limit)."""
        return min(calls, self.limit)

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` more requests may run, then count them (if cancelled,
        nothing was counted)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while self.running + weight > self.limit:
            await self._freed.park()
        self.running += weight
        await trio.lowlevel.cancel_shielded_checkpoint()

    def release(self, weight: int) -> None:
        self.running -= weight
        self._freed.unpark_all()
