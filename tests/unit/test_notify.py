"""``events.notify`` frames spliced from cached event JSON are byte-identical to encoding
the notification dict, and the cache never serves one event's text for another."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from unit.model_strategies import events

from gnomon.runtime.gateway import rpc
from gnomon.runtime.gateway.notify import EventText, notify_frame
from gnomon.runtime.model import wire
from gnomon.runtime.model.events import Event

subscriptions = st.text(min_size=1, max_size=12)


@given(event=events, sub=subscriptions)
def test_frame_is_json_dumps_of_the_notification(event: Event, sub: str) -> None:
    texts = EventText()
    frame = notify_frame(sub, event.seq, texts.of(event))
    params = {"subscription": sub, "seq": event.seq, "event": wire.unstructure(event)}
    expected = json.dumps(rpc.notification("events.notify", params), separators=(",", ":"))
    assert frame == expected
    assert json.loads(frame)["params"]["event"] == wire.unstructure(event)


@given(batch=st.lists(events, min_size=1, max_size=20))
def test_cache_answers_by_identity_within_its_bound(batch: list[Event]) -> None:
    texts = EventText(size=4)
    for _ in range(3):
        for event in batch:
            assert json.loads(texts.of(event)) == wire.unstructure(event)
    distinct = len({id(e) for e in batch})
    # all fit: every pass after the first hits; more than fit: a cyclic scan always misses
    assert texts.hits == (2 * len(batch) if distinct <= 4 else 0)
