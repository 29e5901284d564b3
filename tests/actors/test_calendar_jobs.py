"""A calendar job with an exclusion calendar and jitter over a month (virtual time, real
store): it fires only on weekdays no calendar excludes, each within 09:00–09:10 local, and
every excluded slot is a ``job.skipped`` with reason ``excluded`` naming the calendar."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import trio
from support.engine_world import EPOCH, make_world
from support.scripted import ScriptedExecutor

from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.core.explain import explain
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.exclusions import make_calendar
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import CalendarSchedule

PARIS = ZoneInfo("Europe/Paris")
HOLIDAYS = ("2026-11-11", "2026-11-25")  # a Wednesday each


async def test_weekday_calendar_with_holidays_and_jitter_over_a_month(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    book = ExclusionBook([make_calendar("holidays", "Europe/Paris", HOLIDAYS, ())])
    spec = JobSpec(
        name="standup",
        schedule=CalendarSchedule(exprs=("Mon..Fri *-*-* 09:00",), tz="Europe/Paris", jitter=600),
        action=NoopAction(),
        exclude=("holidays",),
    )
    async with trio.open_nursery() as nursery:
        w = await make_world(
            nursery, tmp_path, executor=ScriptedExecutor(duration=0), exclusions=book
        )
        job = await w.create(spec)
        await trio.sleep(timedelta(days=30).total_seconds())
        events = await w.events(job.id)
        nursery.cancel_scope.cancel()
    fired = [e for e in events if e.type is EventType.JOB_FIRED]
    skipped = [e for e in events if e.type is EventType.JOB_SKIPPED]
    days = [EPOCH.date() + timedelta(days=n) for n in range(30)]
    weekdays = [d for d in days if d.weekday() < 5]
    expected = [d for d in weekdays if d.isoformat() not in HOLIDAYS]
    assert [e.timestamp.astimezone(PARIS).date() for e in fired] == expected
    offsets = set()
    for e in fired:
        local = e.timestamp.astimezone(PARIS)
        assert time(9, 0) <= local.time() < time(9, 10), local
        offsets.add(local.time())
    assert len(offsets) > len(fired) // 2  # spread, not one instant
    assert [date.fromisoformat(e.payload["fire_time"][:10]) for e in skipped] == [
        date.fromisoformat(h) for h in HOLIDAYS
    ]
    assert {(e.payload["reason"], e.payload["calendar"], e.message) for e in skipped} == {
        ("excluded", "holidays", "excluded: holidays")
    }


async def test_an_excluded_slot_shows_in_the_reason_line(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """After an excluded slot, explain (jobs show's reason line) says which calendar."""
    book = ExclusionBook([make_calendar("freeze", "UTC", (), ("Mon 00:00..Tue 00:00",))])
    spec = JobSpec(
        name="deploy",
        schedule=CalendarSchedule(exprs=("*-*-* 12:00",), tz="UTC"),
        action=NoopAction(),
        exclude=("freeze",),
    )
    async with trio.open_nursery() as nursery:
        w = await make_world(nursery, tmp_path, exclusions=book)
        job = await w.create(spec)  # EPOCH is a Monday: its 12:00 slot is frozen
        await trio.sleep(timedelta(hours=13).total_seconds())
        state = await w.get(job.id)
        nursery.cancel_scope.cancel()
    reason = explain(state, EPOCH + timedelta(hours=13))
    assert reason.code == "excluded"
    assert reason.text.startswith("last slot excluded: freeze; next fire at 2026-11-03T12:00")
