"""The rule that settles a cluster after an outage without moving partitions twice
(runtime/cluster/core.py ``Settling``, docs/cluster.md "Partitions, leases and epochs"):
a node back from its self-fence spares, for a beat plus the margin, the peers whose lease
lapsed while it was away. Pure: the rule alone, and on the model of the database
(tests/support/cluster_model.py) — the database stops for everyone, the nodes come back
in any order within a beat, some never do. The same outage with real daemons and a real
PostgreSQL: tests/system/test_cluster_outage.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from support.cluster_model import TIMES, Node, World

from gnomon.runtime.cluster.core import Settling, fair_share


def test_a_node_back_spares_the_lapsed_peers_until_they_renew_or_the_window_ends() -> None:
    rule = Settling(window=2.5)
    assert rule.spare(set(), 0.0) == frozenset()  # never fenced: nobody is spared
    rule.back({"b", "c"}, now=10.0)
    assert rule.spare({"a"}, 10.0) == {"b", "c"}
    assert rule.left(11.0) == 1.5
    assert rule.spare({"a", "b"}, 11.0) == {"c"}  # b renewed: live, counted as such
    assert rule.spare({"a"}, 12.5) == frozenset()  # c is dead: taken over from now on
    assert rule.left(12.5) is None
    rule.back(set(), now=20.0)  # nobody lapsed (a short outage): no window at all
    assert rule.left(20.0) is None


def test_the_window_is_a_beat_plus_the_margin() -> None:
    assert TIMES.settle == TIMES.beat + TIMES.margin


def settled(partitions: int, nodes: int, settle: float | None = None) -> World:
    """``nodes`` nodes holding their fair shares (``settle``: their window)."""
    world = World(partitions)
    for _ in range(nodes):
        world.join()
    world.rounds(4 * TIMES.beat)
    if settle is not None:
        for n in world.nodes:
            n.settling = Settling(settle)
    return world


def outage(world: World, down: float, order: list[int], gaps: list[float]) -> None:
    """The database stops for ``down`` seconds; then the nodes of ``order`` renew in that
    order, ``gaps`` apart; the others are dead."""
    for n in world.nodes:
        n.connected = False
    world.rounds(down)
    for n in world.nodes:
        n.running = n.name in order
        n.connected = True
    for name, gap in zip(order, gaps, strict=False):
        world.tick(world.nodes[name])
        world.check_safety()
        world.advance(gap)


@given(
    partitions=st.integers(1, 64),
    nodes=st.integers(2, 5),
    down=st.floats(TIMES.ttl, 60.0),
    data=st.data(),
)
def test_after_an_outage_every_partition_is_taken_once_and_shares_are_fair(
    partitions: int, nodes: int, down: float, data: st.DataObject
) -> None:
    """Whatever the order of the returns within a beat, and with any nodes dead (not
    all): each partition is taken exactly once after the outage (the dead's ones once the
    window ends), and every partition ends with a live node at its fair share."""
    world = settled(partitions, nodes)
    before = dict(world.epoch)
    back = data.draw(
        st.permutations(range(nodes)).map(lambda p: p[: data.draw(st.integers(1, nodes))])
    )
    gaps = data.draw(
        st.lists(st.floats(0.0, TIMES.beat / len(back)), min_size=len(back), max_size=len(back))
    )
    outage(world, down, back, gaps)
    world.rounds(TIMES.settle + 2 * TIMES.beat)
    assert {p: world.epoch[p] - e for p, e in before.items()} == dict.fromkeys(before, 1)
    alive = [n for n in world.nodes if n.running]
    assert {p for n in alive for p in n.held} == set(range(partitions))
    assert all(len(n.held) <= fair_share(partitions, len(alive)) for n in alive)
    assert world.beliefs_match()


def test_without_the_window_the_first_node_back_takes_everything_and_gives_half_back() -> None:
    """What the rule prevents: with no window (the old behaviour) the first node back sees
    itself alone, takes its peer's partitions and gives them back a beat later."""
    world = settled(64, 2, settle=0.0)
    before = dict(world.epoch)
    outage(world, 20.0, [0, 1], [0.5, 0.5])
    world.rounds(2 * TIMES.beat)
    moved = {p: world.epoch[p] - e for p, e in before.items()}
    assert sorted(set(moved.values())) == [1, 2]
    assert all(len(n.held) == 32 for n in world.nodes)


def test_a_node_that_never_fenced_takes_a_dead_peer_over_as_its_lease_runs_out() -> None:
    """No outage: a peer killed outright is not spared; its partitions are taken at the
    first tick after its lease expired, as before the rule."""
    world = settled(64, 2)
    dead: Node = world.nodes[1]
    dead.running = False
    expiry = world.lease[dead.name]
    while world.now <= expiry:
        world.rounds(TIMES.beat / 4)
    world.tick(world.nodes[0])
    assert len(world.nodes[0].held) == 64


def test_a_node_cut_off_alone_spares_nobody_when_it_comes_back() -> None:
    """Only this node lost the database: a peer that died meanwhile was taken over by the
    live one, so nothing lapsed still holds partitions and nothing waits for a window."""
    world = settled(64, 3)
    cut, live, dead = world.nodes
    cut.connected, dead.running = False, False
    world.rounds(TIMES.ttl + TIMES.beat)  # the dead lease runs out; the live node takes over
    assert cut.fenced
    assert len(live.held) == 64
    cut.connected = True
    world.tick(cut)
    assert cut.settling.left(world.now) is None
    world.rounds(TIMES.beat)
    assert (len(cut.held), len(live.held)) == (32, 32)
