"""Mailboxes, tell/try_tell/ask and request/reply, in virtual time."""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing
from support.kernel_actors import Boom, BoomAsk, Hold, Ping, Quit, count_tasks, spec

from gnomon.runtime import ActorContext, ChildSpec, Registry, Restart, Supervisor
from gnomon.runtime.errors import ActorCrashed, ActorGone, AskTimeout


async def test_ask_round_trip(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    """An asked actor's answer comes back to the caller."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)]).run)
    ref = sup.ref("a")
    assert ref is not None
    assert await ref.ask(Ping(text="hi")) == "a:hi"


async def test_ask_to_crashing_actor_raises_actor_crashed(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A handler that raises while holding the request gives ActorCrashed, never a hang."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)]).run)
    ref = sup.ref("a")
    assert ref is not None
    with pytest.raises(ActorCrashed, match="boom in a") as info:
        await ref.ask(BoomAsk(), timeout=None)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert await ref.ask(Ping(text="again")) == "a:again"
    assert log == ["start a", "stop a", "start a"]


async def test_request_held_across_a_crash_fails_at_once(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A request the actor kept unanswered fails when the actor later crashes."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)]).run)
    ref = sup.ref("a")
    assert ref is not None
    outcome: list[BaseException] = []

    async def ask_and_hold() -> None:
        try:
            await ref.ask(Hold(), timeout=None)
        except ActorCrashed as exc:
            outcome.append(exc)

    nursery.start_soon(ask_and_hold)
    await trio.testing.wait_all_tasks_blocked()
    start = trio.current_time()
    await ref.tell(Boom())
    await trio.testing.wait_all_tasks_blocked()
    assert len(outcome) == 1
    assert trio.current_time() == start


async def test_ask_timeout_is_exact(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    """An unanswered ask raises AskTimeout exactly at its timeout."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)]).run)
    ref = sup.ref("a")
    assert ref is not None
    start = trio.current_time()
    with pytest.raises(AskTimeout, match="echo:a did not answer Hold within 2s"):
        await ref.ask(Hold(), timeout=2.0)
    assert trio.current_time() - start == 2.0


async def test_full_mailbox_blocks_tell_and_try_tell_drops(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """With a full mailbox, tell waits (backpressure) and try_tell drops and counts."""
    release = trio.Event()
    seen: list[str] = []

    async def slow(ctx: ActorContext[Any]) -> None:
        ctx.ready()
        await release.wait()
        async for msg in ctx.inbox:
            seen.append(msg)

    child = ChildSpec(id="slow", start=slow, mailbox_size=2)
    sup = await nursery.start(Supervisor("s", children=[child]).run)
    ref = sup.ref("slow")
    assert ref is not None
    assert ref.try_tell("m1")
    assert ref.try_tell("m2")
    assert ref.try_tell("m3") is False
    assert ref.mailbox.dropped == 1
    assert ref.mailbox.depth == 2
    with trio.move_on_after(5) as blocked:
        await ref.tell("m4")
    assert blocked.cancelled_caught
    release.set()
    await ref.tell("m5")
    await trio.testing.wait_all_tasks_blocked()
    assert seen == ["m1", "m2", "m5"]


async def test_mailbox_survives_restart(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Messages queued behind a crash are handled by the next incarnation, same ref."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)]).run)
    ref = sup.ref("a")
    assert ref is not None
    ref.try_tell(Boom())
    answer = await ref.ask(Ping(text="queued"))
    assert answer == "a:queued"
    assert sup.ref("a") is ref
    assert sup.which_children()[0].incarnation == 2


async def test_removed_actor_is_gone(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    """After terminate_child, sends raise ActorGone and the registry forgets the actor."""
    log: list[str] = []
    registry = Registry()
    sup = await nursery.start(Supervisor("s", children=[spec("a", log)], registry=registry).run)
    ref = registry.lookup("echo", "a")
    assert ref is not None
    await sup.terminate_child("a")
    assert registry.lookup("echo", "a") is None
    with pytest.raises(ActorGone):
        await ref.tell(Ping(text="x"))
    with pytest.raises(ActorGone):
        ref.try_tell(Ping(text="x"))
    with pytest.raises(ActorGone):
        await ref.ask(Ping(text="x"))


async def test_queued_requests_fail_when_actor_is_removed(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Requests still queued when an actor ends for good get ActorGone, not a timeout."""
    log: list[str] = []
    sup = await nursery.start(Supervisor("s", children=[spec("a", log, Restart.TRANSIENT)]).run)
    ref = sup.ref("a")
    assert ref is not None
    ref.try_tell(Quit())
    start = trio.current_time()
    with pytest.raises(ActorGone):
        await ref.ask(Ping(text="late"), timeout=60)
    assert trio.current_time() == start


async def test_reply_twice_is_an_error() -> None:
    """A reply slot accepts one answer only."""
    request = Ping(text="x")
    request.reply.send("one")
    with pytest.raises(RuntimeError, match="already sent"):
        request.reply.send("two")
    assert await request.reply.wait() == "one"


async def test_registry_wait_for(nursery: trio.Nursery, autojump_clock: trio.abc.Clock) -> None:
    """wait_for returns once the actor is registered, and times out otherwise."""
    registry = Registry()
    sup = await nursery.start(Supervisor("s", registry=registry).run)
    found: list[str] = []

    async def waiter() -> None:
        ref = await registry.wait_for("echo", "late")
        found.append(ref.path)

    nursery.start_soon(waiter)
    await trio.sleep(3)
    await sup.start_child(spec("late", []))
    await trio.testing.wait_all_tasks_blocked()
    assert found == ["echo:late"]
    with pytest.raises(AskTimeout):
        await registry.wait_for("echo", "never", timeout=1)


async def test_no_task_leaks_after_stop(autojump_clock: trio.abc.Clock) -> None:
    """Stopping a supervisor leaves no task behind."""
    before = count_tasks()
    log: list[str] = []
    errors: list[Exception] = []
    async with trio.open_nursery() as nursery:
        sup = await nursery.start(Supervisor("s", children=[spec("a", log), spec("b", log)]).run)
        ref = sup.ref("a")
        assert ref is not None

        async def held_ask() -> None:
            try:
                await ref.ask(Hold())
            except ActorGone as exc:
                errors.append(exc)

        nursery.start_soon(held_ask)
        await trio.testing.wait_all_tasks_blocked()
        assert count_tasks() > before
        await sup.stop()
    assert count_tasks() == before
    assert log == ["start a", "start b", "stop b", "stop a"]
    assert len(errors) == 1


async def test_draining_actor_keeps_receiving_after_stop_request(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """An actor may finish work in flight after a stop request by receiving with draining."""
    handled: list[str] = []

    async def drainer(ctx: ActorContext[Any]) -> None:
        while True:
            msg = await ctx.inbox.receive_until(math.inf, draining=True)
            if msg is None:
                continue
            handled.append(msg)
            if ctx.stop_requested and msg == "last":
                return

    sup = await nursery.start(
        Supervisor("s", children=[ChildSpec(id="d", start=drainer, shutdown=60)]).run
    )
    ref = sup.ref("d")
    assert ref is not None

    async def late_messages() -> None:
        await trio.sleep(5)
        await ref.tell("after-stop")
        await ref.tell("last")

    nursery.start_soon(late_messages)
    start = trio.current_time()
    await sup.stop()
    assert handled == ["after-stop", "last"]
    assert trio.current_time() - start == 5


async def test_crash_message_looks_through_single_exception_groups(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """An actor whose own nursery wraps the error still reports the error itself."""

    async def wrapped(ctx: ActorContext[Any]) -> None:
        async for _msg in ctx.inbox:
            async with trio.open_nursery():
                raise KeyError("missing thing")

    sup = await nursery.start(Supervisor("s", children=[ChildSpec(id="w", start=wrapped)]).run)
    ref = sup.ref("w")
    assert ref is not None
    with pytest.raises(ActorCrashed, match=r"crashed: KeyError: 'missing thing'"):
        await ref.ask(Hold())


def test_sole_error_unwraps_one_real_error_from_nursery_groups() -> None:
    """A nursery's group of one error plus sibling cancellations unwraps to that error
    (KeyboardInterrupt included); several real errors keep the group."""
    from gnomon.runtime.errors import NotFound, sole_error

    async def fail(exc: BaseException) -> None:
        raise exc

    async def sibling() -> None:
        await trio.sleep_forever()

    async def run(*excs: BaseException) -> BaseException:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sibling)
                for exc in excs:
                    nursery.start_soon(fail, exc)
        except BaseExceptionGroup as group:
            return sole_error(group)
        raise AssertionError("no error")

    missing = NotFound("gone")
    assert trio.run(run, missing) is missing
    interrupt = KeyboardInterrupt()
    assert isinstance(trio.run(run, interrupt), KeyboardInterrupt)
    both = trio.run(run, NotFound("a"), NotFound("b"))
    assert isinstance(both, BaseExceptionGroup)


async def test_a_queued_message_wins_over_a_deadline_already_past(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """An actor whose timer is overdue still receives what is queued, in order, and only
    then times out: overdue timers must not starve its mailbox."""
    got: list[Any] = []

    async def late_timer(ctx: ActorContext[Any]) -> None:
        ctx.ready()
        await trio.sleep(10)  # the messages queue up while it is busy
        past = trio.current_time() - 5
        while True:
            msg = await ctx.inbox.receive_until(past)
            got.append(msg)
            if msg is None:
                await trio.sleep_forever()

    sup = await nursery.start(
        Supervisor("s", children=[ChildSpec(id="late", kind="t", start=late_timer)]).run
    )
    ref = sup.ref("late")
    assert ref is not None
    await ref.tell(Quit())
    await ref.tell(Boom())
    await trio.sleep(11)
    assert got == [Quit(), Boom(), None]
