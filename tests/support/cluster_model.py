"""A model of the cluster's database and nodes for the property tests of its pure rules
(runtime/cluster/core.py): owner and epoch per partition and the leases, as the tables
hold them, and each node's beliefs, driven by the same decisions as
runtime/cluster/membership.py (renew, drop what was lost, free strays, spare the peers
that lapsed during this node's fence, then plan). Time is explicit; nothing here sleeps.
"""

from __future__ import annotations

import math

import attrs
from hypothesis import strategies as st

from gnomon.runtime.cluster.core import LeaseTimes, Settling, lost, plan

TIMES = LeaseTimes()


@attrs.define
class Node:
    name: int
    running: bool = True
    connected: bool = True
    fenced: bool = True
    joined: bool = False
    sent: float | None = None  # the last successful renewal's send time
    held: dict[int, int] = attrs.field(factory=dict)
    settling: Settling = attrs.field(factory=lambda: Settling(TIMES.settle))


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

    def live(self) -> set[int]:
        return {n for n, until in self.lease.items() if until > self.now}

    def join(self) -> None:
        node = Node(len(self.nodes))
        self.nodes.append(node)
        self.lease[node.name] = self.now + TIMES.ttl
        self.tick(node)

    def tick(self, node: Node) -> None:
        """As Membership._tick: renew, drop lost, release strays, then the plan."""
        if not (node.running and node.connected) or node.name not in self.lease:
            return
        previous = self.lease[node.name] - TIMES.ttl  # sql.renew's old beat_at
        holders = set(self.owner.values())
        lapsed = {n for n, u in self.lease.items() if previous < u <= self.now and n in holders}
        lapsed.discard(node.name)
        self.lease[node.name] = self.now + TIMES.ttl
        node.sent = self.now
        if node.fenced and node.joined:
            node.settling.back({str(n) for n in lapsed}, self.now)
        node.fenced, node.joined = False, True
        in_db = {p: self.epoch[p] for p, o in self.owner.items() if o == node.name}
        for p in lost(node.held, in_db):
            del node.held[p]
        for p in set(in_db) - set(node.held):
            self.owner[p] = None
        live = self.live()
        spared = node.settling.spare({str(n) for n in live}, self.now)
        step = plan(node.held, self.partitions, len(live) + len(spared))
        for p in step.release:
            del node.held[p]
            self.owner[p] = None
        self._take(node, step.take, {int(n) for n in spared})

    def _take(self, node: Node, want: int, spared: set[int]) -> None:
        """As sql.take: free partitions first, then expired ones not spared, by number."""
        free = [
            (o is not None, p)
            for p, o in self.owner.items()
            if o is None or (o not in spared and self.lease.get(o, -math.inf) <= self.now)
        ]
        for _, p in sorted(free)[:want]:
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

    def rounds(self, seconds: float, step: float = TIMES.beat / 4) -> None:
        """Every node ticks, then ``step`` passes, for ``seconds``; safety checked."""
        for _ in range(math.ceil(seconds / step)):
            for n in self.nodes:
                self.tick(n)
            self.advance(step)
            self.check_safety()

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

    def beliefs_match(self) -> bool:
        """Every running node believes it holds exactly what the database says."""
        return all(
            n.held == {p: self.epoch[p] for p, o in self.owner.items() if o == n.name}
            for n in self.nodes
            if n.running
        )


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
