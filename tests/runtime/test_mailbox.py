"""The mailbox and the reply on their own (runtime/mailbox.py, runtime/reply.py), in
virtual time: FIFO, capacity and backpressure, atomic receive under cancellation, the stop
wake-up, closing; a property test against a model of a bounded FIFO."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.runtime import Mailbox, Reply, Request, StopRequested
from gnomon.runtime.actor import ActorRef
from gnomon.runtime.errors import ActorGone


@attrs.frozen(kw_only=True)
class Ask(Request[int]):
    n: int


def box(capacity: int = 2) -> Mailbox[Any]:
    mailbox: Mailbox[Any] = Mailbox(capacity, "t:a")
    mailbox._begin_incarnation(lambda: None)
    return mailbox


async def test_fifo_capacity_and_try_tell_drops(autojump_clock: trio.abc.Clock) -> None:
    """Messages come out in order; a full mailbox refuses (and try_tell counts a drop)."""
    mailbox = box(2)
    ref = ActorRef("t", "a", mailbox)
    assert ref.try_tell(1)
    assert ref.try_tell(2)
    assert not ref.try_tell(3)
    assert mailbox.dropped == 1
    assert mailbox.depth == 2
    assert await mailbox.receive() == 1
    assert ref.try_tell(4)
    assert [mailbox.receive_nowait(), mailbox.receive_nowait()] == [2, 4]
    with pytest.raises(trio.WouldBlock):
        mailbox.receive_nowait()
    assert mailbox.depth == 0


async def test_long_queues_stay_in_order(autojump_clock: trio.abc.Clock) -> None:
    """Compaction of the queue's taken head never reorders or loses a message."""
    mailbox = box(100)
    sent = taken = 0
    for round_ in range(50):
        for _ in range(round_ % 7 + 60):
            if mailbox.offer(sent):
                sent += 1
        for _ in range(round_ % 5 + 40):
            if mailbox.depth:
                assert mailbox.receive_nowait() == taken
                taken += 1
    while mailbox.depth:
        assert mailbox.receive_nowait() == taken
        taken += 1
    assert taken == sent


async def test_blocked_senders_wait_in_order(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """tell waits while the mailbox is full; blocked senders are served in order, and a
    cancelled one's message is never queued."""
    mailbox = box(1)
    ref = ActorRef("t", "a", mailbox)
    await ref.tell("first")
    cancelled = trio.CancelScope()

    async def tell_in(scope: trio.CancelScope, msg: str) -> None:
        with scope:
            await ref.tell(msg)

    nursery.start_soon(tell_in, trio.CancelScope(), "second")
    await trio.testing.wait_all_tasks_blocked()
    nursery.start_soon(tell_in, cancelled, "never")
    await trio.testing.wait_all_tasks_blocked()
    nursery.start_soon(tell_in, trio.CancelScope(), "third")
    await trio.testing.wait_all_tasks_blocked()
    cancelled.cancel()
    await trio.testing.wait_all_tasks_blocked()
    got = [await mailbox.receive() for _ in range(3)]
    assert got == ["first", "second", "third"]
    assert mailbox.depth == 0


async def test_receive_is_atomic_under_cancellation(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A message handed to a waiting receiver whose scope is cancelled in the same step is
    still received; a receiver cancelled before any message loses nothing."""
    mailbox = box(4)
    got: list[object] = []
    scope = trio.CancelScope()

    async def receiver() -> None:
        with scope:
            got.append(await mailbox.receive())
            await trio.sleep(1)  # the cancel lands here, after the message is in hand
            got.append("not reached")

    nursery.start_soon(receiver)
    await trio.testing.wait_all_tasks_blocked()
    mailbox.offer("handed")
    scope.cancel()
    await trio.testing.wait_all_tasks_blocked()
    assert got == ["handed"]

    with trio.move_on_after(1):
        await mailbox.receive()
    mailbox.offer("kept")
    assert await mailbox.receive() == "kept"


async def test_receive_until_deadline_and_late_news(autojump_clock: trio.abc.Clock) -> None:
    """receive_until returns None exactly at its deadline; a queued message wins over a
    deadline already past."""
    mailbox = box(2)
    start = trio.current_time()
    assert await mailbox.receive_until(start + 3) is None
    assert trio.current_time() == start + 3
    mailbox.offer("news")
    assert await mailbox.receive_until(-math.inf) == "news"
    assert await mailbox.receive_until(-math.inf) is None


async def test_stop_wakes_a_waiting_receiver(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """A stop request makes a waiting receive raise StopRequested (async for ends)."""
    mailbox = box(2)
    seen: list[object] = []

    async def actor() -> None:
        async for msg in mailbox:
            seen.append(msg)
        seen.append("ended")

    nursery.start_soon(actor)
    mailbox.offer(1)
    await trio.testing.wait_all_tasks_blocked()
    mailbox._request_stop()
    await trio.testing.wait_all_tasks_blocked()
    assert seen == [1, "ended"]
    assert mailbox.stop_requested
    with pytest.raises(StopRequested):
        await mailbox.receive()


async def test_draining_receiver_gets_queued_messages_then_one_none(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Draining, the messages queued before a stop come first, then one None — also from
    a full mailbox — and then it waits for news or its deadline like before."""
    mailbox = box(2)
    mailbox.offer("a")
    mailbox.offer("b")
    mailbox._request_stop()
    assert await mailbox.receive_until(math.inf, draining=True) == "a"
    assert await mailbox.receive_until(math.inf, draining=True) == "b"
    assert await mailbox.receive_until(math.inf, draining=True) is None
    start = trio.current_time()
    assert await mailbox.receive_until(start + 5, draining=True) is None
    assert trio.current_time() == start + 5
    mailbox._begin_incarnation(lambda: None)  # a restart forgets the stop
    assert not mailbox.stop_requested
    assert await mailbox.receive_until(trio.current_time() + 1) is None


async def test_close_fails_queued_requests_and_blocked_senders(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Closing answers queued requests and blocked senders with ActorGone; later sends
    raise it too, and a receive raises ClosedResourceError."""
    mailbox = box(1)
    ref = ActorRef("t", "a", mailbox)
    queued = Ask(n=1)
    ref.try_tell(queued)
    errors: list[BaseException] = []

    async def blocked() -> None:
        try:
            await ref.ask(Ask(n=2), timeout=None)
        except ActorGone as exc:
            errors.append(exc)

    nursery.start_soon(blocked)
    await trio.testing.wait_all_tasks_blocked()
    mailbox._close()
    await trio.testing.wait_all_tasks_blocked()
    assert [str(e) for e in errors] == ["actor t:a is stopped"]
    with pytest.raises(ActorGone, match="actor t:a is stopped"):
        await queued.reply.wait()
    with pytest.raises(ActorGone):
        ref.try_tell(3)
    with pytest.raises(ActorGone):
        await ref.tell(3)
    with pytest.raises(trio.ClosedResourceError):
        await mailbox.receive()


async def test_capacity_zero_is_a_rendezvous(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """With no room, tell waits for a receiver and try_tell succeeds only if one waits."""
    mailbox = box(0)
    ref = ActorRef("t", "a", mailbox)
    assert not ref.try_tell("dropped")
    done: list[str] = []

    async def sender() -> None:
        await ref.tell("x")
        done.append("sent")

    nursery.start_soon(sender)
    await trio.testing.wait_all_tasks_blocked()
    assert done == []
    assert await mailbox.receive() == "x"
    await trio.testing.wait_all_tasks_blocked()
    assert done == ["sent"]
    got: list[object] = []

    async def receiver() -> None:
        got.append(await mailbox.receive())

    nursery.start_soon(receiver)
    await trio.testing.wait_all_tasks_blocked()
    assert ref.try_tell("y")
    await trio.testing.wait_all_tasks_blocked()
    assert got == ["y"]


async def test_reply_wakes_its_waiters_and_keeps_the_answer(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    """Every waiter gets the answer; a cancelled wait leaves it for a later one; a second
    answer is refused."""
    reply: Reply[int] = Reply()
    got: list[int] = []

    async def waiter() -> None:
        got.append(await reply.wait())

    nursery.start_soon(waiter)
    nursery.start_soon(waiter)
    with trio.move_on_after(1):
        await reply.wait()
    assert not reply.done
    reply.send(7)
    await trio.testing.wait_all_tasks_blocked()
    assert got == [7, 7]
    assert reply.done
    assert await reply.wait() == 7
    with pytest.raises(RuntimeError):
        reply.fail(ValueError("late"))


Op = tuple[str, int]
ops = st.lists(
    st.tuples(st.sampled_from(["offer", "take", "put", "cancel_put", "stop"]), st.integers(0, 9)),
    max_size=40,
)


@given(capacity=st.integers(0, 3), script=ops)
@settings(max_examples=150, deadline=None)
def test_mailbox_matches_a_bounded_fifo(capacity: int, script: list[Op]) -> None:
    """Any mix of try_tell, receive_nowait, blocked tells (some cancelled) and stop
    requests behaves like a bounded FIFO whose blocked senders queue behind it in order."""

    async def main() -> None:
        mailbox = box(capacity)
        ref = ActorRef("t", "a", mailbox)
        queue: list[int] = []  # the model: queued, then the blocked senders in order
        blocked: list[tuple[int, trio.CancelScope]] = []
        async with trio.open_nursery() as nursery:
            for op, n in script:
                if op == "offer":
                    room = len(queue) < capacity
                    assert ref.try_tell(n) is room
                    if room:
                        queue.append(n)
                elif op == "take":
                    if queue or blocked:
                        if len(queue) < 1 and blocked:  # capacity 0: straight from a sender
                            queue.append(blocked.pop(0)[0])
                        assert mailbox.receive_nowait() == queue.pop(0)
                        if blocked and len(queue) < capacity:
                            queue.append(blocked.pop(0)[0])
                    else:
                        with pytest.raises(trio.WouldBlock):
                            mailbox.receive_nowait()
                elif op == "put":
                    if len(queue) < capacity and not blocked:
                        await ref.tell(n)
                        queue.append(n)
                    else:
                        scope = trio.CancelScope()
                        blocked.append((n, scope))
                        nursery.start_soon(_tell_in, ref, n, scope)
                elif op == "cancel_put" and blocked:
                    blocked.pop(n % len(blocked))[1].cancel()
                elif op == "stop":
                    mailbox._request_stop()
                await trio.testing.wait_all_tasks_blocked()
                assert mailbox.depth == len(queue)
            for _, scope in blocked:
                scope.cancel()
        assert [mailbox.receive_nowait() for _ in range(mailbox.depth)] == queue

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


async def _tell_in(ref: ActorRef[Any], msg: int, scope: trio.CancelScope) -> None:
    with scope:
        await ref.tell(msg)
