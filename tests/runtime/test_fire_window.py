"""The per-minute fire window behind ``stats.fires``: fires, lags and outcomes counted by
minute, an hour kept, and history primed from the store counted once with the live feed
wherever the boundary falls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.fire_window import MINUTES, FireWindow
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.events import Event, EventType

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def event(seq: int, minute: int, kind: str = "fired", lag: float = 0.5) -> Event:
    """A job.fired (with ``lag``) or a run's end (``success``/``failed``) at T0+minute."""
    at = T0 + timedelta(minutes=minute, seconds=seq % 60)
    if kind == "fired":
        return Event(seq=seq, type=EventType.JOB_FIRED, timestamp=at, payload={"lag": lag})
    payload: dict[str, Any] = {"run_id": f"r{seq}", "duration": 0.1}
    ended = EventType.JOB_COMPLETED if kind == "success" else EventType.JOB_FAILED
    return Event(seq=seq, type=ended, timestamp=at, outcome=Outcome(kind), payload=payload)


def counts(window: FireWindow, now: datetime) -> list[tuple[int, float, dict[str, int]]]:
    return [(m.fired, m.worst_lag, m.outcomes) for _, m in window.snapshot(now)]


def test_minutes_count_fires_worst_lag_and_outcomes() -> None:
    """Two fires and a success in minute 0, a failure in minute 2; other minutes empty; a
    job.fired without lag (a manual fire) is a fire but no lag sample."""
    w = FireWindow()
    for e in (
        event(1, 0, lag=0.2),
        event(2, 0, lag=1.5),
        event(3, 0, "success"),
        event(4, 2, "failed"),
    ):
        w.observe(e)
    w.observe(Event(seq=5, type=EventType.JOB_FIRED, timestamp=T0 + timedelta(minutes=2)))
    minutes = w.snapshot(T0 + timedelta(minutes=2, seconds=30), 3)
    assert [start for start, _ in minutes] == [T0 + timedelta(minutes=i) for i in range(3)]
    assert [(m.fired, m.lag_samples, m.worst_lag, m.outcomes) for _, m in minutes] == [
        (2, 2, 1.5, {"success": 1}),
        (0, 0, 0.0, {}),
        (1, 0, 0.0, {"failed": 1}),
    ]


def test_an_hour_is_kept() -> None:
    """Minutes older than the window are dropped when newer ones arrive, and a late event
    for a dropped minute is not counted."""
    w = FireWindow()
    w.observe(event(1, 0))
    w.observe(event(2, MINUTES + 5))
    w.observe(event(3, 1))
    now = T0 + timedelta(minutes=MINUTES + 5)
    assert sum(m.fired for _, m in w.snapshot(now)) == 1
    assert len(w.snapshot(now)) == MINUTES


EVENTS = st.lists(
    st.tuples(st.integers(0, 90), st.sampled_from(["fired", "success", "failed"])),
    max_size=60,
).map(lambda raw: [event(i + 1, m, k, lag=i / 7) for i, (m, k) in enumerate(sorted(raw))])


@given(EVENTS, st.data())
def test_prime_and_live_count_each_event_once(events: list[Event], data: st.DataObject) -> None:
    """Whatever seq the live feed starts at, priming the history before it gives the counts
    of a window that saw every event live."""
    now = T0 + timedelta(minutes=95)
    whole = FireWindow()
    for e in events:
        whole.observe(e)
    split = data.draw(st.integers(0, len(events)))
    w = FireWindow()
    w.boundary = events[split - 1].seq if split else 0
    for e in events[split:]:
        w.observe(e)
    scratch = FireWindow()
    scratch.boundary = w.boundary
    scratch.count_history(events)  # the store's pages hold every event up to the boundary
    w.absorb(scratch)
    assert w.primed
    assert counts(w, now) == counts(whole, now)
