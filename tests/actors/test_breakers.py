"""Breaker actors in virtual time: per-key state, events, idle exit, reset."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import trio
import trio.testing

from gnomon.actors.breaker_actors import Breakers
from gnomon.actors.core.breaker.machine import BreakerStatus
from gnomon.runtime import Registry, Strategy, Supervisor, VirtualClock
from gnomon.runtime.errors import NotFound
from gnomon.runtime.model.events import EventDraft

EPOCH = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


async def make(
    nursery: trio.Nursery, events: list[EventDraft], idle_after: float = 600.0
) -> Breakers:
    registry = Registry()
    sup = await nursery.start(
        Supervisor("breakers", strategy=Strategy.SIMPLE_ONE_FOR_ONE, registry=registry).run
    )

    async def emit(drafts: Sequence[EventDraft]) -> None:
        events.extend(drafts)

    return Breakers(
        supervisor=sup,
        registry=registry,
        emit=emit,
        clock=VirtualClock(EPOCH),
        idle_after=idle_after,
    )


async def test_open_refuse_half_open_close_cycle(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """5 failures in 60 s open it; it refuses for 30 s; one probe half-opens; success closes."""
    events: list[EventDraft] = []
    breakers = await make(nursery, events)
    for _ in range(5):
        p = await breakers.permit("api:443")
        assert p.allowed
        breakers.report("api:443", failure=True, probe=p.probe)
        await trio.sleep(1)
    refused = await breakers.permit("api:443")
    assert not refused.allowed
    assert refused.retry_at == EPOCH + timedelta(seconds=4 + 30)
    assert trio.current_time() == 5
    await trio.sleep(28)
    assert not (await breakers.permit("api:443")).allowed
    await trio.sleep(1)
    probe = await breakers.permit("api:443")
    assert probe.allowed
    assert probe.probe
    assert not (await breakers.permit("api:443")).allowed
    breakers.report("api:443", failure=False, probe=True)
    assert (await breakers.permit("api:443")).allowed
    assert [e.type.value for e in events] == [
        "breaker.opened",
        "breaker.half_open",
        "breaker.closed",
    ]
    assert events[0].timestamp == EPOCH + timedelta(seconds=4)
    assert events[0].payload == {"key": "api:443", "from": "closed", "to": "open"}
    assert "until 2026-11-01T12:00:34+00:00" in events[0].message


async def test_keys_are_independent(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    """One failing target never opens another target's breaker."""
    events: list[EventDraft] = []
    breakers = await make(nursery, events)
    for _ in range(5):
        await breakers.permit("a")
        breakers.report("a", failure=True, probe=False)
    await trio.testing.wait_all_tasks_blocked()
    assert not (await breakers.permit("a")).allowed
    assert (await breakers.permit("b")).allowed
    views = await breakers.list()
    assert [(v.key, v.status) for v in views] == [("a", BreakerStatus.OPEN)]
    assert breakers.status("b") is BreakerStatus.CLOSED  # never failed: no actor, no state


async def test_closed_breakers_permit_without_an_actor(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Successes need no actor; the first failure starts one, which publishes its status."""
    events: list[EventDraft] = []
    breakers = await make(nursery, events)
    for _ in range(100):
        assert (await breakers.permit("fine")).allowed
        breakers.report("fine", failure=False, probe=False)
    assert await breakers.list() == []
    breakers.report("shaky", failure=True, probe=False)
    await trio.testing.wait_all_tasks_blocked()
    assert [v.recent_failures for v in await breakers.list()] == [1]


async def test_idle_closed_breaker_exits_and_reset(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """An idle closed breaker is forgotten; reset closes an open one; unknown keys 404."""
    events: list[EventDraft] = []
    breakers = await make(nursery, events, idle_after=60)
    breakers.report("idle", failure=True, probe=False)
    await trio.testing.wait_all_tasks_blocked()
    assert len(await breakers.list()) == 1
    await trio.sleep(61 + 60)  # the failure leaves the window, then the idle period passes
    assert await breakers.list() == []
    for _ in range(5):
        await breakers.permit("x")
        breakers.report("x", failure=True, probe=False)
    await trio.sleep(3600)
    view = await breakers.reset("x")
    assert view.status is BreakerStatus.CLOSED
    assert (await breakers.permit("x")).allowed
    with pytest.raises(NotFound):
        await breakers.reset("nope")
