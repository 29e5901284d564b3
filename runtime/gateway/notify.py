"""``events.notify`` frames, with each event encoded once for all its subscribers.

A storm watched by 100 dashboards would otherwise unstructure and JSON-encode every event
100 times on the trio thread. Live subscribers receive the very same event object from
the bus, so its JSON text is cached by object identity (the object is pinned by the cache
entry, so an id is never reused while cached) in a small LRU; the frame around it is
spliced as text, byte-identical to ``json.dumps`` of the notification dict with compact
separators.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from gnomon.runtime.event_bus import Lagged, is_ephemeral
from gnomon.runtime.gateway.outbox import Outbox
from gnomon.runtime.model import wire
from gnomon.runtime.model.events import Event

#: Events kept encoded (one storm's worth of live events in flight to slow subscribers).
CACHE_SIZE = 4096


class EventText:
    """The compact JSON of events, cached by identity (see the module docstring)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._cache: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self.hits = 0

    def of(self, event: Any) -> str:
        """``json.dumps(wire.unstructure(event))``, compact."""
        key = id(event)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is event:
            self._cache.move_to_end(key)
            self.hits += 1
            return hit[1]
        text = json.dumps(wire.unstructure(event), separators=(",", ":"))
        self._cache[key] = (event, text)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return text


def notify_frame(subscription: str, seq: int, event_json: str) -> str:
    """The ``events.notify`` frame for ``event_json`` (already encoded)."""
    return (
        '{"jsonrpc":"2.0","method":"events.notify","params":{"subscription":'
        f'{json.dumps(subscription)},"seq":{int(seq)},"event":{event_json}}}}}'
    )


#: Shared by every session of the process (identity keys are safe across buses).
EVENT_TEXT = EventText()


def queue_notes(
    out: Outbox, sub_id: str, items: list[Event | Lagged], last: int, batch: bool
) -> tuple[int, bool]:
    """Queue subscription ``sub_id``'s ``items`` in ``out`` (with ``batch``, packed: an
    array of ``events.notify`` that later events of the subscription join while the
    writer has not sent it); the new last seq delivered, and whether the subscription
    lagged — on the bus (a :class:`Lagged` among the items: what came before it is still
    sent) or here (the outbox is full: none of ``items`` was queued). Never waits."""
    frames: list[str] = []
    newest, resume = last, None
    for item in items:
        if isinstance(item, Lagged):
            resume = item.resume_from
            break
        frames.append(notify_frame(sub_id, item.seq, EVENT_TEXT.of(item)))
        if not is_ephemeral(item):  # it carries the bus's last seq, not ours
            newest = item.seq
    if frames:
        queued = out.pack_nowait(sub_id, frames) if batch else out.put_nowait(frames[0])
        if not queued:
            return last, True
    return (newest, False) if resume is None else (resume, True)
