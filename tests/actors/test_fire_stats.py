"""``stats.fires`` over a real store: the first call reads the hour's earlier events (page
by page, only the counted types, nothing older than the window), joined to the live ones
at the boundary seq; later calls answer from memory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trio
from support.storekit import T0, running_store

from gnomon.actors import fire_stats
from gnomon.actors.fire_stats import FireStatsMethods
from gnomon.runtime.fire_window import FireWindow
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.events import Event, EventDraft, EventType
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_stats import FiresParams
from gnomon.runtime.store import Changes

CALLER = Caller(token_id="admin", scope="read", owner="user:test")


def fired(minutes_ago: float, lag: float = 0.25) -> EventDraft:
    at = T0 - timedelta(minutes=minutes_ago)
    return EventDraft(type=EventType.JOB_FIRED, timestamp=at, job_id="j", payload={"lag": lag})


def succeeded(minutes_ago: float) -> EventDraft:
    at = T0 - timedelta(minutes=minutes_ago)
    payload = {"run_id": "r", "duration": 0.5, "cycle": 1}
    return EventDraft(
        type=EventType.JOB_COMPLETED, timestamp=at, outcome=Outcome.SUCCESS, payload=payload
    )


async def test_first_call_primes_from_the_store_then_counts_live(
    nursery: trio.Nursery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fires from 90 minutes ago are out; the 20 of 30 minutes ago, the 5 successes and the
    live fire are in; job.created is not counted; a second call reads nothing again."""
    monkeypatch.setattr(fire_stats, "PAGE", 7)  # several pages
    store = await running_store(nursery, tmp_path / "g.db")
    created = EventDraft(type=EventType.JOB_CREATED, timestamp=T0 - timedelta(minutes=20))
    drafts = [fired(90)] * 5 + [fired(30, lag=i / 10) for i in range(20)]
    drafts += [created] * 10 + [succeeded(10)] * 5
    await store.commit(Changes(events=tuple(drafts)))
    window = FireWindow()
    last = await store.last_seq()
    live = Event(seq=last + 1, type=EventType.JOB_FIRED, timestamp=T0, payload={"lag": 3.0})
    window.observe(live)  # the bus's first event after the store's last: the boundary
    methods = FireStatsMethods(window, store.events, store.last_seq, lambda: T0)
    stats = await methods.fires(CALLER, FiresParams())
    by_minute = {m.start: m for m in stats.minutes if m.fired or m.outcomes}
    thirty, ten, now = (T0 - timedelta(minutes=n) for n in (30, 10, 0))
    assert sorted(by_minute) == [thirty, ten, now]
    assert (by_minute[thirty].fired, by_minute[thirty].worst_lag) == (20, 1.9)
    assert by_minute[thirty].mean_lag == pytest.approx(0.95)
    assert by_minute[ten].outcomes == {"success": 5}
    assert (by_minute[now].fired, by_minute[now].worst_lag) == (1, 3.0)
    assert len(stats.minutes) == 60
    again = await methods.fires(CALLER, FiresParams(minutes=31))
    assert sum(m.fired for m in again.minutes) == 21
