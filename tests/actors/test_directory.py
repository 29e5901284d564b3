"""The job directory: passivation heap, activation, routing across passivation, refs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from gnomon.actors.directory import KIND, JobDirectory, JobEntry
from gnomon.runtime import (
    ActorContext,
    ChildSpec,
    Registry,
    Request,
    Restart,
    Strategy,
    Supervisor,
    VirtualClock,
)
from gnomon.runtime.errors import InvalidInput, NotFound
from gnomon.runtime.model.enums import JobStatus

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class Hello(Request[str]):
    """Answered with the job id and the actor's incarnation."""


@attrs.define
class World:
    """A directory over fake job actors that passivate after `idle` quiet seconds."""

    directory: JobDirectory
    clock: VirtualClock
    log: list[tuple[str, str, float]]


async def make(nursery: trio.Nursery, idle: float = 5.0, lead: float = 1.0) -> World:
    registry = Registry()
    clock = VirtualClock(EPOCH)
    jobs = await nursery.start(
        Supervisor("jobs", strategy=Strategy.SIMPLE_ONE_FOR_ONE, registry=registry).run
    )
    log: list[tuple[str, str, float]] = []
    holder: list[JobDirectory] = []

    def spawn(job_id: str) -> ChildSpec:
        async def actor(ctx: ActorContext[Any]) -> None:
            log.append(("up", job_id, trio.current_time()))
            while True:
                msg = await ctx.inbox.receive_until(trio.current_time() + idle)
                if msg is None:
                    entry = holder[0].get(job_id)
                    assert entry is not None
                    holder[0].note(attrs.evolve(entry, wake=None), passivate=True)
                    log.append(("down", job_id, trio.current_time()))
                    return
                msg.reply.send(f"{job_id}#{ctx.incarnation}")

        return ChildSpec(id=job_id, kind=KIND, start=actor, restart=Restart.TRANSIENT)

    directory = JobDirectory(
        supervisor=jobs, registry=registry, spawn=spawn, clock=clock, lead=lead
    )
    holder.append(directory)
    timer = await nursery.start(
        Supervisor("timer", children=[ChildSpec(id="t", start=directory.run_timer)]).run
    )
    assert timer.running
    return World(directory, clock, log)


def entry(job_id: str, name: str, wake_s: float | None = None, **kw: Any) -> JobEntry:
    wake = None if wake_s is None else EPOCH + timedelta(seconds=wake_s)
    return JobEntry(
        id=job_id, name=name, status=kw.pop("status", JobStatus.PENDING), wake=wake, **kw
    )


async def test_passivated_job_activates_lead_seconds_before_it_is_due(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A job loaded idle costs no actor until `lead` seconds before its wake time."""
    w = await make(nursery)
    w.directory.load([entry("j1", "one", 100), entry("j2", "two", 50)])
    await trio.testing.wait_all_tasks_blocked()
    assert w.log == []
    assert w.directory.active("j1") is None
    await trio.sleep(200)
    assert [(e, j, t) for e, j, t in w.log if e == "up"] == [("up", "j2", 49.0), ("up", "j1", 99.0)]
    assert w.directory.active("j1") is None  # passivated again after being idle


async def test_ask_activates_and_survives_passivation_race(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """An ask reaches a passivated job; one sent as it passivates is retried, not lost."""
    w = await make(nursery, idle=5.0)
    w.directory.load([entry("j1", "one")])
    assert await w.directory.ask("j1", Hello) == "j1#1"
    await trio.sleep(4.999)
    ref = w.directory.active("j1")
    assert ref is not None
    answers = []

    async def late_ask() -> None:
        await trio.sleep(0.001)  # lands in the mailbox of the passivating incarnation
        answers.append(await w.directory.ask("j1", Hello))

    nursery.start_soon(late_ask)
    await trio.sleep(1)
    assert len(answers) == 1
    assert answers[0].startswith("j1#")


async def test_wake_time_change_rearms_the_timer(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Noting an earlier wake for a passivated job makes the timer wake earlier."""
    w = await make(nursery)
    w.directory.load([entry("j1", "one", 1000)])
    await trio.sleep(1)
    w.directory.note(entry("j1", "one", 10), passivate=True)
    await trio.sleep(20)
    assert w.log[0] == ("up", "j1", 9.0)


async def test_resolve_ids_names_and_prefixes(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """REF is an id, a live name or a unique id prefix; terminal jobs free their name."""
    w = await make(nursery)
    d = w.directory
    d.load([entry("abcd1111", "backup"), entry("abcd2222", "deploy")])
    assert d.resolve("abcd1111") == "abcd1111"
    assert d.resolve("backup") == "abcd1111"
    assert d.resolve("abcd2") == "abcd2222"
    with pytest.raises(InvalidInput, match="ambiguous"):
        d.resolve("abcd")
    with pytest.raises(NotFound):
        d.resolve("nope")
    d.note(entry("abcd1111", "backup", status=JobStatus.COMPLETED))
    assert d.live_name("backup") is None
    assert d.resolve("abcd1111") == "abcd1111"
    d.note(entry("ffff0000", "backup"))
    assert d.resolve("backup") == "ffff0000"


async def test_dependents_index(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    """The reverse depends_on index follows notes and forgets."""
    w = await make(nursery)
    d = w.directory
    d.load(
        [
            entry("a", "a"),
            entry("b", "b", depends_on=("a",)),
            entry("c", "c", depends_on=("a", "b")),
        ]
    )
    assert d.dependents("a") == ["b", "c"]
    d.forget("c")
    assert d.dependents("a") == ["b"]
    assert d.dependents("b") == []


async def test_resolve_a_finished_jobs_name(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A finished job's name resolves to the latest such job until a live one takes it."""
    w = await make(nursery)
    d = w.directory
    d.load([entry("aaaa1111", "smoke"), entry("bbbb2222", "smoke", status=JobStatus.FAILED)])
    d.note(entry("aaaa1111", "smoke", status=JobStatus.COMPLETED))
    assert d.resolve("smoke") == "bbbb2222"
    d.note(entry("cccc3333", "smoke"))
    assert d.resolve("smoke") == "cccc3333"
