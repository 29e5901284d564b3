"""Commands between nodes on a real PostgreSQL (runtime/cluster/commands.py): real
memberships and relays in one trio run (real clock); ``apply`` — the daemon's engine in
production — records what it applied. A command is applied once by the partition's
owner and answered; its refusal reaches the caller; an unanswered one is withdrawn and
never applied later; one sent while its owner leaves is applied by the next owner.
Skipped without a server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from support.pgkit import fresh_database

psycopg = pytest.importorskip("psycopg")

from gnomon.runtime.cluster import commands_core as core  # noqa: E402
from gnomon.runtime.cluster.commands import CommandRelay  # noqa: E402
from gnomon.runtime.cluster.commands_sql import Command  # noqa: E402
from gnomon.runtime.cluster.core import partition_of  # noqa: E402
from gnomon.runtime.cluster.membership import Membership  # noqa: E402
from gnomon.runtime.errors import AskTimeout, Conflict  # noqa: E402

P = 4
pytestmark = pytest.mark.slow


@pytest.fixture
def db() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT command, claimed_boot, result FROM cluster_commands ORDER BY id"
        ).fetchall()


class Node:
    """A membership and its relay; ``applied`` lists the commands its ``apply`` saw."""

    def __init__(self, url: str, name: str, *, answer: str | None = None, **policy: Any) -> None:
        self.member = Membership(url, node=name, partitions=P, kill_groups=False)
        self.applied: list[Command] = []
        self.answer = answer or core.encode_ok()
        self.relay = CommandRelay(
            url, self.member, partitions=P, apply=self.apply, policy=core.WaitPolicy(**policy)
        )

    async def apply(self, cmd: Command) -> str | None:
        self.applied.append(cmd)
        await trio.sleep(0.01)
        return self.answer


async def halves(member: Membership) -> None:
    """Until ``member`` holds its half of the partitions."""
    with trio.fail_after(10):
        while len(member.held) != P // 2:  # noqa: ASYNC110 - the planner sets it
            await trio.sleep(0.02)


def job_in(member: Membership) -> str:
    """A job id in a partition ``member`` holds."""
    return next(
        f"job{i:013d}" for i in range(1000) if member.holds(partition_of(f"job{i:013d}", P))
    )


async def test_a_command_is_applied_once_by_the_owner_and_answered(db: str) -> None:
    a, b = Node(db, "a"), Node(db, "b", answer=None)
    async with trio.open_nursery() as nursery:
        await nursery.start(a.member.run)
        await nursery.start(a.relay.run)
        twin = CommandRelay(db, a.member, partitions=P, apply=a.apply)  # a second claimer
        await nursery.start(twin.run)
        await nursery.start(b.member.run)
        await nursery.start(b.relay.run)
        await halves(a.member)
        job_id = job_in(a.member)
        started = time.monotonic()
        for op in ("pause", "resume", "run_now", "cancel"):
            await b.relay.command(job_id, op, {"reason": "test"})
        print(f"4 commands through the owner: {time.monotonic() - started:.3f}s")
        assert [c.command for c in a.applied] == ["pause", "resume", "run_now", "cancel"]
        assert a.applied[0].params == {"reason": "test"}
        assert not b.applied
        assert all(r[1] == a.member.boot_id and r[2] for r in rows(db))

        a.answer = core.encode_error(Conflict.rpc_code, "cannot pause job x: it is cancelled")
        with pytest.raises(Conflict, match="it is cancelled"):
            await b.relay.command(job_id, "pause", {})
        nursery.cancel_scope.cancel()


async def test_an_unanswered_command_is_withdrawn_and_never_applied_later(db: str) -> None:
    a, b = Node(db, "a"), Node(db, "b", limit=0.5, grace=0.5)
    async with trio.open_nursery() as nursery:
        await nursery.start(a.member.run)  # a holds partitions, but its relay is not running
        await nursery.start(b.member.run)
        await nursery.start(b.relay.run)
        await halves(a.member)
        with pytest.raises(AskTimeout, match=r"belongs to node a.*withdrawn and not applied"):
            await b.relay.command(job_in(a.member), "run_now", {})
        await nursery.start(a.relay.run)
        a.relay.wake()
        await trio.sleep(0.5)
        assert not a.applied
        assert not b.applied
        [(command, claimed, result)] = rows(db)
        assert command == "run_now"
        assert claimed is None
        assert "not taken" in result
        nursery.cancel_scope.cancel()


async def test_a_command_sent_while_its_owner_leaves_is_applied_by_the_next_owner(
    db: str,
) -> None:
    a, b = Node(db, "a"), Node(db, "b")
    async with trio.open_nursery() as nursery:
        leaving = trio.CancelScope()

        async def run_a(*, task_status: Any) -> None:
            with leaving:
                await a.member.run(task_status=task_status)

        await nursery.start(run_a)  # a's relay never runs: it cannot answer
        await nursery.start(b.member.run)
        await nursery.start(b.relay.run)
        await halves(a.member)
        job_id = job_in(a.member)
        async with trio.open_nursery() as inner:
            inner.start_soon(b.relay.command, job_id, "cancel", {})
            await trio.sleep(0.2)
            leaving.cancel()  # a hands its partitions over; b takes them and claims
        assert [c.job_id for c in b.applied] == [job_id]
        assert not a.applied
        assert rows(db)[0][1] == b.member.boot_id
        nursery.cancel_scope.cancel()
