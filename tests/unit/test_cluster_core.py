"""The cluster's pure rules (runtime/cluster/core.py), checked on random histories of a
model of the database (tests/support/cluster_model.py): nodes tick (renew, reconcile,
plan), time passes, nodes die, lose the database, come back, join and leave. Two
properties: a partition never has two writers at one epoch, and once things calm down
the partitions are shared fairly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.cluster_model import World, op, run

from gnomon.runtime.cluster.core import (
    LeaseTimes,
    OffsetEstimator,
    fair_share,
    first_line,
    partition_of,
    plan,
)

TIMES = LeaseTimes()


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
    world.rounds(TIMES.settle)  # every node comes back from its fence, sparing the lapsed
    world.rounds((2 * partitions + 4) * TIMES.beat / 4)  # rounds of beats
    alive = [n for n in world.nodes if n.running]
    share = fair_share(partitions, len(alive))
    held = {p for n in alive for p in n.held}
    assert held == set(range(partitions))  # nothing unowned, nothing owned by the dead
    assert all(len(n.held) <= share for n in alive)
    assert world.beliefs_match()


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
