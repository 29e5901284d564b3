"""The cluster's pure rules (runtime/cluster/core.py), checked on random histories of a
model of the database: nodes tick (renew, reconcile, plan), time passes, nodes die, lose
the database, come back, join and leave. Two properties: a partition never has two
writers at one epoch, and once things calm down the partitions are shared fairly."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.cluster.core import (
    LeaseTimes,
    OffsetEstimator,
    fair_share,
    first_line,
    lost,
    partition_of,
    plan,
)

TIMES = LeaseTimes()


@attrs.define
class Node:
    name: int
    running: bool = True
    connected: bool = True
    fenced: bool = True
    sent: float | None = None  # the last successful renewal's send time
    held: dict[int, int] = attrs.field(factory=dict)


@attrs.define
class World:
    """The database (owner and epoch per partition, leases) and the nodes' beliefs."""

    partitions: int
    now: float = 0.0
    owner: dict[int, int | None] = attrs.field(factory=dict)
    epoch: dict[int, int] = attrs.field(factory=dict)
    lease: dict[int, float] = attrs.field(factory=dict)
    nodes: list[Node] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        self.owner = dict.fromkeys(range(self.partitions))
        self.epoch = dict.fromkeys(range(self.partitions), 0)

    def live(self) -> int:
        return sum(1 for until in self.lease.values() if until > self.now)

    def join(self) -> None:
        node = Node(len(self.nodes))
        self.nodes.append(node)
        self.lease[node.name] = self.now + TIMES.ttl
        self.tick(node)

    def tick(self, node: Node) -> None:
        """As Membership._tick: renew, drop lost, release strays, then the plan."""
        if not (node.running and node.connected) or node.name not in self.lease:
            return
        self.lease[node.name] = self.now + TIMES.ttl
        node.sent = self.now
        node.fenced = False
        in_db = {p: self.epoch[p] for p, o in self.owner.items() if o == node.name}
        for p in lost(node.held, in_db):
            del node.held[p]
        for p in set(in_db) - set(node.held):
            self.owner[p] = None
        step = plan(node.held, self.partitions, self.live())
        for p in step.release:
            del node.held[p]
            self.owner[p] = None
        free = [
            p
            for p, o in sorted(self.owner.items())
            if o is None or self.lease.get(o, -math.inf) <= self.now
        ]
        for p in free[: step.take]:
            self.owner[p] = node.name
            self.epoch[p] += 1
            node.held[p] = self.epoch[p]

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for node in self.nodes:  # the watchdog
            if node.running and not node.fenced and TIMES.fenced(node.sent, self.now):
                node.fenced = True
                node.held.clear()

    def leave(self, node: Node) -> None:
        if node.running and node.connected:
            for p, o in self.owner.items():
                if o == node.name:
                    self.owner[p] = None
            self.lease.pop(node.name, None)
            node.running = False

    def writers(self, p: int) -> set[int]:
        """Nodes that would pass the fence for ``p``: unfenced, believing they hold it at
        its current epoch, owner in the database, lease valid."""
        return {
            n.name
            for n in self.nodes
            if n.running
            and not n.fenced
            and n.held.get(p) == self.epoch[p]
            and self.owner[p] == n.name
            and self.lease.get(n.name, -math.inf) > self.now
        }

    def check_safety(self) -> None:
        for p in range(self.partitions):
            assert len(self.writers(p)) <= 1
        for n in self.nodes:  # an unfenced node's lease is valid: nobody can take from it
            if n.running and not n.fenced:
                assert self.lease[n.name] > self.now + TIMES.kill_grace


op = st.one_of(
    st.tuples(st.just("tick"), st.integers(0, 5)),
    st.tuples(st.just("advance"), st.floats(0.05, 3.0)),
    st.tuples(st.just("kill"), st.integers(0, 5)),
    st.tuples(st.just("cut"), st.integers(0, 5)),
    st.tuples(st.just("mend"), st.integers(0, 5)),
    st.tuples(st.just("leave"), st.integers(0, 5)),
    st.tuples(st.just("join"), st.just(0)),
)


def run(world: World, ops: list[tuple[str, float]]) -> None:
    for kind, arg in ops:
        nodes = world.nodes
        node = nodes[int(arg) % len(nodes)] if nodes else None
        if kind == "join" or node is None:
            world.join()
        elif kind == "tick":
            world.tick(node)
        elif kind == "advance":
            world.advance(arg)
        elif kind == "kill":
            node.running = False
        elif kind in ("cut", "mend"):
            node.connected = kind == "mend"
        else:
            world.leave(node)
        world.check_safety()


@given(st.integers(1, 40), st.integers(1, 4), st.lists(op, max_size=60))
def test_never_two_writers_of_a_partition_at_one_epoch(
    partitions: int, first: int, ops: list[tuple[str, float]]
) -> None:
    world = World(partitions)
    for _ in range(first):
        world.join()
        world.check_safety()
    run(world, ops)


@given(st.integers(1, 40), st.integers(1, 4), st.lists(op, max_size=40))
def test_fair_shares_converge_once_things_calm_down(
    partitions: int, first: int, ops: list[tuple[str, float]]
) -> None:
    world = World(partitions)
    for _ in range(first):
        world.join()
    run(world, ops)
    for n in world.nodes:
        n.connected = True
    if not any(n.running for n in world.nodes):
        world.join()
    world.advance(TIMES.ttl)  # every dead lease runs out
    for _ in range(2 * partitions + 4):  # rounds of beats
        for n in world.nodes:
            world.tick(n)
        world.advance(TIMES.beat / 4)
        world.check_safety()
    alive = [n for n in world.nodes if n.running]
    share = fair_share(partitions, len(alive))
    held = {p for n in alive for p in n.held}
    assert held == set(range(partitions))  # nothing unowned, nothing owned by the dead
    assert all(len(n.held) <= share for n in alive)
    for n in alive:  # beliefs match the database
        assert n.held == {p: world.epoch[p] for p, o in world.owner.items() if o == n.name}


@given(st.integers(1, 10_000), st.integers(1, 500))
def test_fair_shares_cover_every_partition_without_waste(partitions: int, nodes: int) -> None:
    share = fair_share(partitions, nodes)
    assert share * nodes >= partitions
    assert (share - 1) * nodes < partitions


@given(st.lists(st.integers(0, 63), unique=True), st.integers(1, 64), st.integers(1, 8))
def test_a_plan_takes_up_to_or_releases_down_to_the_share(
    held: list[int], partitions: int, live: int
) -> None:
    share = fair_share(partitions, live)
    step = plan(held, partitions, live)
    assert len(held) - len(step.release) + step.take == max(share, len(held) - len(step.release))
    assert set(step.release) <= set(held)
    assert not (step.release and step.take)
    assert len(held) - len(step.release) <= share


@given(st.floats(0.01, 10), st.floats(0.01, 10), st.floats(0, 5), st.floats(0, 5))
def test_the_self_fence_comes_before_the_lease_can_expire(
    beat: float, ttl: float, margin: float, grace: float
) -> None:
    valid = 0 < beat < ttl and grace + 0.1 <= margin < ttl - beat
    if not valid:
        with pytest.raises(ValueError, match="cluster"):
            LeaseTimes(beat=beat, ttl=ttl, margin=margin, kill_grace=grace)
        return
    times = LeaseTimes(beat=beat, ttl=ttl, margin=margin, kill_grace=grace)
    sent = 1000.0  # the database extends the lease to at least sent + ttl
    assert times.trusted_until(sent) + times.kill_grace < sent + times.ttl
    assert not times.fenced(sent, sent + times.beat)  # one beat late is still fine
    assert times.fenced(None, sent)


@given(
    st.floats(-60, 60),
    st.lists(st.tuples(st.floats(0, 0.2), st.floats(0, 0.2)), min_size=1, max_size=20),
)
def test_the_clock_offset_is_within_half_the_best_round_trip(
    offset: float, delays: list[tuple[float, float]]
) -> None:
    estimate = OffsetEstimator()
    t = 1_700_000_000.0
    for there, back in delays:
        estimate.add(t, t + there + offset, t + there + back)
        t += 1
    assert abs(estimate.offset - offset) <= estimate.error + 1e-6


def test_partitions_are_stable_and_in_range() -> None:
    assert partition_of("j-abc", 64) == partition_of("j-abc", 64)
    assert {partition_of(f"j{i}", 7) for i in range(200)} == set(range(7))


def test_bad_lease_times_name_the_values() -> None:
    with pytest.raises(ValueError, match=r"margin 4\.5s"):
        LeaseTimes(margin=4.5)


def test_first_line_keeps_a_log_record_on_one_line() -> None:
    refused = OSError(
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
    )
    assert first_line(refused) == (
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    )
    assert first_line(TimeoutError()) == "TimeoutError"
