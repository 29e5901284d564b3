"""Supervisor strategies, restart types, intensity, stop order and cancellation (virtual time)."""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from support.kernel_actors import Boom, Ping, Quit, count_tasks, spec, stubborn

from gnomon.runtime import (
    ActorContext,
    ActorRef,
    ChildSpec,
    Restart,
    RestartBackoff,
    Strategy,
    Supervisor,
)
from gnomon.runtime.errors import Conflict, NotFound, SupervisorGaveUp
from gnomon.runtime.restarts import Crashed, Normal
from gnomon.runtime.supervisor import ChildExited, ChildRestarted, GaveUp


def ref_of(sup: Supervisor, child: str) -> ActorRef[Any]:
    ref = sup.ref(child)
    assert ref is not None
    return ref


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


@pytest.mark.parametrize(
    ("restart", "message", "restarted"),
    [
        (Restart.PERMANENT, Boom(), True),
        (Restart.PERMANENT, Quit(), True),
        (Restart.TRANSIENT, Boom(), True),
        (Restart.TRANSIENT, Quit(), False),
        (Restart.TEMPORARY, Boom(), False),
        (Restart.TEMPORARY, Quit(), False),
    ],
)
async def test_restart_types(
    nursery: trio.Nursery,
    autojump_clock: trio.abc.Clock,
    restart: Restart,
    message: object,
    restarted: bool,
) -> None:
    """permanent always restarts, transient only after a crash, temporary never."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log, restart)]).run)
    await ref_of(sup, "a").tell(message)
    await settle()
    if restarted:
        assert log == ["start a", "stop a", "start a"]
        assert sup.which_children()[0].incarnation == 2
    else:
        assert log == ["start a", "stop a"]
        assert sup.which_children() == []


async def test_one_for_one_restarts_only_the_dead_child(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """one_for_one leaves the siblings alone."""
    log: list[str] = []
    children = [spec(n, log) for n in "abc"]
    sup = await nursery.start(Supervisor("s", children=children).run)
    log.clear()
    await ref_of(sup, "b").tell(Boom())
    await settle()
    assert log == ["stop b", "start b"]


async def test_one_for_all_restarts_everyone_in_order(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """one_for_all stops the siblings in reverse start order, then starts all in order."""
    log: list[str] = []
    children = [spec(n, log) for n in "abc"]
    sup = await nursery.start(Supervisor("s", strategy=Strategy.ONE_FOR_ALL, children=children).run)
    log.clear()
    await ref_of(sup, "b").tell(Boom())
    await settle()
    assert log == ["stop b", "stop c", "stop a", "start a", "start b", "start c"]


async def test_one_for_all_drops_temporary_siblings(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A temporary sibling terminated by a group restart is not restarted (OTP)."""
    log: list[str] = []
    children = [spec("a", log), spec("t", log, Restart.TEMPORARY), spec("c", log)]
    sup = await nursery.start(Supervisor("s", strategy=Strategy.ONE_FOR_ALL, children=children).run)
    await ref_of(sup, "c").tell(Boom())
    await settle()
    assert [c.id for c in sup.which_children()] == ["a", "c"]


async def test_rest_for_one_restarts_the_later_children(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """rest_for_one restarts the dead child and those started after it."""
    log: list[str] = []
    children = [spec(n, log) for n in "abcd"]
    sup = await nursery.start(
        Supervisor("s", strategy=Strategy.REST_FOR_ONE, children=children).run
    )
    log.clear()
    await ref_of(sup, "b").tell(Boom())
    await settle()
    assert log == ["stop b", "stop d", "stop c", "start b", "start c", "start d"]
    assert [c.incarnation for c in sup.which_children()] == [1, 2, 2, 2]


async def test_simple_one_for_one_dynamic_children(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """simple_one_for_one adds children at run time and restarts them one by one."""
    log: list[str] = []
    with pytest.raises(ValueError, match="no children"):
        Supervisor("s", strategy=Strategy.SIMPLE_ONE_FOR_ONE, children=[spec("a", log)])
    sup = await nursery.start(Supervisor("s", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
    refs = [await sup.start_child(spec(f"job{i}", log)) for i in range(3)]
    with pytest.raises(Conflict):
        await sup.start_child(spec("job0", log))
    log.clear()
    await refs[1].tell(Boom())
    await settle()
    assert log == ["stop job1", "start job1"]
    assert await refs[1].ask(Ping(text="x")) == "job1:x"
    log.clear()
    await sup.stop()
    assert sorted(log) == ["stop job0", "stop job1", "stop job2"]


async def test_start_child_init_failure_is_raised(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A child that fails before it is ready raises from start_child and is not kept."""

    async def broken(ctx: ActorContext[Any]) -> None:
        raise ValueError("bad config")

    sup = await nursery.start(Supervisor("s").run)
    with pytest.raises(ValueError, match="bad config"):
        await sup.start_child(ChildSpec(id="x", start=broken))
    assert sup.which_children() == []


async def run_expecting_failure(sup: Supervisor, crash: list[tuple[str, str]]) -> BaseException:
    """Run ``sup`` in the foreground while crashing (supervisor, child) pairs one by one."""
    registry = {sup.name: sup}
    caught: list[BaseException] = []

    async def driver() -> None:
        await settle()
        for owner, child in crash:
            target = registry.get(owner) or sup
            await ref_of(target, child).tell(Boom())
            await settle()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver)
        try:
            await sup.run()
        except BaseException as exc:
            caught.append(exc)
            nursery.cancel_scope.cancel()
    assert len(caught) == 1
    return caught[0]


async def test_intensity_exceeded_raises_one_supervisor_gave_up(
    autojump_clock: trio.abc.Clock,
) -> None:
    """More than `intensity` restarts in `period` stops all children and raises once."""
    log: list[str] = []
    sup = Supervisor("s", children=[spec("a", log), spec("b", log)], intensity=2, period=10)
    error = await run_expecting_failure(sup, [("s", "b")] * 3)
    assert type(error) is SupervisorGaveUp
    assert error.child == "b"
    assert log.count("start b") == 3
    assert log[-2:] == ["stop b", "stop a"]


async def test_a_significant_child_crash_makes_the_parent_give_up_at_once(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A significant child's first crash escalates (no restart, whatever the intensity);
    an ordinary sibling's crash is still restarted."""
    log: list[str] = []
    plain = spec("plain", log)
    key = attrs.evolve(spec("key", log), significant=True)
    sup = Supervisor("s", children=[plain, key], intensity=10, period=10)
    error = await run_expecting_failure(sup, [("s", "plain"), ("s", "key")])
    assert type(error) is SupervisorGaveUp
    assert error.child == "key"
    assert "significant child 'key'" in str(error)
    assert log.count("start plain") == 2
    assert log.count("start key") == 1


async def test_supervisor_run_raises_gave_up_unwrapped(autojump_clock: trio.abc.Clock) -> None:
    """`run` itself raises SupervisorGaveUp, not an exception group."""
    log: list[str] = []
    sup = Supervisor("s", children=[spec("a", log)], intensity=0, period=10)
    caught: list[BaseException] = []

    async def crash_soon() -> None:
        await trio.sleep(1)
        await ref_of(sup, "a").tell(Boom())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(crash_soon)
        try:
            await sup.run()
        except BaseException as exc:
            caught.append(exc)
    assert len(caught) == 1
    assert type(caught[0]) is SupervisorGaveUp


async def test_restarts_spread_beyond_period_do_not_give_up(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """The intensity window slides: crashes far apart never exceed it."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)], intensity=1, period=5).run)
    for _ in range(10):
        await ref_of(sup, "a").tell(Boom())
        await settle()
        await trio.sleep(6)
    assert log.count("start a") == 11
    assert sup.running


async def test_gave_up_child_supervisor_escalates_to_parent(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A child supervisor that gives up is an abnormal exit the parent restarts; a parent
    out of intensity gives up in turn, again as one unwrapped exception."""
    log: list[str] = []
    events: list[object] = []
    inner = Supervisor("inner", children=[spec("a", log)], intensity=0, period=60)
    outer = Supervisor(
        "outer", children=[inner.as_child()], intensity=1, period=60, observer=events.append
    )
    caught: list[BaseException] = []

    async def driver() -> None:
        for _ in range(2):
            await settle()
            await ref_of(inner, "a").tell(Boom())
            await settle()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver)
        try:
            await outer.run()
        except BaseException as exc:
            caught.append(exc)
            nursery.cancel_scope.cancel()
    assert [type(e) for e in caught] == [SupervisorGaveUp]
    assert "'outer' gave up: child 'inner'" in str(caught[0])
    crashes = [e for e in events if isinstance(e, ChildExited) and e.child == "inner"]
    assert len(crashes) == 2
    assert all(isinstance(e.reason, Crashed) for e in crashes)
    assert isinstance(crashes[0].reason, Crashed)
    assert type(crashes[0].reason.error) is SupervisorGaveUp
    assert log == ["start a", "stop a", "start a", "stop a"]
    assert isinstance(events[-1], GaveUp)


async def test_terminate_child_never_restarts(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A terminated permanent child stays terminated."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log), spec("b", log)]).run)
    await sup.terminate_child("a")
    await trio.sleep(100)
    assert log == ["start a", "start b", "stop a"]
    assert [c.id for c in sup.which_children()] == ["b"]
    with pytest.raises(NotFound):
        await sup.terminate_child("a")


async def test_graceful_stop_is_reverse_order_and_bounded(
    autojump_clock: trio.abc.Clock,
) -> None:
    """stop() stops children last-first; one that ignores the request is cancelled after
    its shutdown bound."""
    log: list[str] = []
    children = [
        spec("a", log),
        ChildSpec(id="deaf", start=stubborn("deaf", log), shutdown=7.0),
        spec("c", log),
    ]
    async with trio.open_nursery() as nursery:
        sup = await nursery.start(Supervisor("s", children=children).run)
        start = trio.current_time()
        await sup.stop()
        assert trio.current_time() - start == 7.0
    assert log == ["start a", "start deaf", "start c", "stop c", "stop deaf", "stop a"]


async def test_cancelling_a_supervisor_cancels_all_descendants(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Cancelling the root's scope ends every actor in the tree, and nothing leaks."""
    before = count_tasks()
    log: list[str] = []
    inner = Supervisor("inner", children=[spec("x", log), spec("y", log)])
    outer = Supervisor("outer", children=[spec("a", log), inner.as_child()])
    with trio.move_on_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(outer.run)
            await ref_of(inner, "x").tell(Ping(text="ok"))
    assert sorted(line for line in log if line.startswith("stop")) == [
        "stop a",
        "stop x",
        "stop y",
    ]
    assert count_tasks() == before
    assert not outer.running
    assert not inner.running


async def test_restart_backoff_uses_injected_rng(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Restart delays follow min(cap, base·2ⁿ) with full jitter from the given RNG."""
    log: list[str] = []
    events: list[object] = []
    backoff = RestartBackoff(base=1.0, cap=30.0, rng=random.Random(7))
    expected = random.Random(7)
    sup = await nursery.start(
        Supervisor(
            "s",
            children=[spec("a", log)],
            intensity=10,
            period=1000,
            backoff=backoff,
            observer=events.append,
        ).run
    )
    for n in range(3):
        t0 = trio.current_time()
        await ref_of(sup, "a").tell(Boom())
        await ref_of(sup, "a").ask(Ping(text="wait"))
        delay = expected.uniform(0, min(30.0, 1.0 * 2**n))
        assert trio.current_time() - t0 == pytest.approx(delay)
    restarts = [e for e in events if isinstance(e, ChildRestarted)]
    assert [r.incarnation for r in restarts] == [2, 3, 4]


async def test_observer_sees_crash_with_traceback(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Crashes reach the observer with the full traceback; normal exits as Normal."""
    events: list[object] = []
    sup = await nursery.start(
        Supervisor("s", children=[spec("a", [], Restart.TRANSIENT)], observer=events.append).run
    )
    await ref_of(sup, "a").tell(Boom())
    await settle()
    await ref_of(sup, "a").tell(Quit())
    await settle()
    exits = [e for e in events if isinstance(e, ChildExited)]
    assert isinstance(exits[0].reason, Crashed)
    assert "RuntimeError: boom in a" in exits[0].reason.traceback
    assert "Traceback" in exits[0].reason.traceback
    assert isinstance(exits[1].reason, Normal)
    assert [type(e).__name__ for e in events] == ["ChildExited", "ChildRestarted", "ChildExited"]


async def test_supervisor_can_run_again_after_stop(autojump_clock: trio.abc.Clock) -> None:
    """A stopped supervisor object can be run again from its static children."""
    log: list[str] = []
    sup = Supervisor("s", children=[spec("a", log)])
    for _ in range(2):
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            assert await ref_of(sup, "a").ask(Ping(text="x")) == "a:x"
            await sup.stop()
    assert log == ["start a", "stop a", "start a", "stop a"]


async def test_start_child_soon_returns_at_once_and_queues_messages(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """start_child_soon is synchronous; messages sent before the child runs are served."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
    refs = [sup.start_child_soon(spec(f"c{i}", log)) for i in range(3)]
    assert log == []
    answers = [await ref.ask(Ping(text="hi")) for ref in refs]
    assert answers == ["c0:hi", "c1:hi", "c2:hi"]
    with pytest.raises(Conflict):
        sup.start_child_soon(spec("c0", log))


async def test_start_child_soon_stopped_before_it_ran(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A child terminated right after start_child_soon stops at once, whether or not its
    cell got scheduled first (trio randomizes that order), and leaves nothing behind."""
    for _ in range(20):
        log: list[str] = []
        sup = await nursery.start(Supervisor("s", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
        start = trio.current_time()
        sup.start_child_soon(spec("late", log, shutdown=60))
        await sup.terminate_child("late")
        assert trio.current_time() == start
        assert log in ([], ["start late", "stop late"])
        assert sup.which_children() == []
        await sup.stop()


async def test_start_child_soon_early_crash_is_an_ordinary_crash(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A child started soon that crashes before it is ready is restarted per its type."""
    attempts: list[int] = []

    async def flaky(ctx: ActorContext[Any]) -> None:
        attempts.append(ctx.incarnation)
        if ctx.incarnation == 1:
            raise RuntimeError("first start fails")
        async for _ in ctx.inbox:
            pass

    sup = await nursery.start(Supervisor("s", strategy=Strategy.SIMPLE_ONE_FOR_ONE).run)
    sup.start_child_soon(ChildSpec(id="f", start=flaky, restart=Restart.TRANSIENT))
    await settle()
    assert attempts == [1, 2]
    assert sup.which_children()[0].state == "running"
