"""The event tail's cursor (runtime/cluster/tail_core.py) on random histories: several
writers commit batches under the chain head's lock (so a reader sees a prefix of ``seq``),
this node's own batches are handed over late or early, reads run on stale snapshots and
finish in between, time passes, old events are pruned. The bus must get every event once,
in ``seq`` order, with a gap only where events were pruned before they were read."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.cluster.tail_core import Cursor


@attrs.frozen
class Ev:
    seq: int


@attrs.define
class Model:
    cursor: Cursor[Ev]
    head: int = 0  # the last committed seq
    pruned: int = 0  # events up to it were deleted from the table
    now: float = 0.0
    own: list[list[Ev]] = attrs.field(factory=list)  # own batches not handed over yet
    reading: list[Ev] | None = None  # a read in flight (its snapshot)
    bus: list[int] = attrs.field(factory=list)
    skipped_ok: set[int] = attrs.field(factory=set)  # pruned before any read could see them

    def publish(self, events: list[Ev]) -> None:
        self.bus.extend(e.seq for e in events)

    def commit(self, node: int, size: int) -> None:
        batch = [Ev(self.head + i + 1) for i in range(size)]
        self.head += size
        if node == 0:
            self.own.append(batch)

    def snapshot(self, limit: int) -> list[Ev]:
        start = max(self.cursor.published, self.pruned)
        return [Ev(s) for s in range(start + 1, min(self.head, start + limit) + 1)]

    def step(self, op: tuple[str, int, int]) -> None:
        kind, a, b = op
        if kind == "commit":
            self.commit(a, b)
        elif kind == "own" and self.own:
            self.publish(self.cursor.own(self.own.pop(0)))
        elif kind == "start" and self.reading is None:
            self.reading = self.snapshot(b)
        elif kind == "finish" and self.reading is not None:
            rows, self.reading = self.reading, None
            self.publish(self.cursor.read(rows, self.now))
        elif kind == "tick":
            self.now += a / 4
        elif kind == "prune" and self.head:
            upto = min(self.head, self.pruned + a)
            self.skipped_ok.update(range(self.cursor.published + 1, upto + 1))
            self.pruned = max(self.pruned, upto)

    def drain(self) -> None:
        """Hand over the rest and read (time passing) until the table is exhausted."""
        while self.own:
            self.publish(self.cursor.own(self.own.pop(0)))
        if self.reading is not None:
            rows, self.reading = self.reading, None
            self.publish(self.cursor.read(rows, self.now))
        for _ in range(self.head + 3):
            self.now += 0.5
            self.publish(self.cursor.read(self.snapshot(7), self.now))


OPS = st.one_of(
    st.tuples(st.just("commit"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.sampled_from(["own", "start", "finish"]), st.just(0), st.integers(1, 8)),
    st.tuples(st.just("tick"), st.integers(0, 3), st.just(0)),
)


@given(st.integers(0, 20), st.lists(OPS, max_size=120))
def test_every_event_reaches_the_bus_once_in_seq_order(start: int, ops: list) -> None:
    model = Model(Cursor(start), head=start)
    for op in ops:
        model.step(op)
        assert model.bus == list(range(start + 1, start + len(model.bus) + 1))
    model.drain()
    assert model.bus == list(range(start + 1, model.head + 1))


@given(st.lists(st.one_of(OPS, st.tuples(st.just("prune"), st.integers(1, 6), st.just(0)))))
def test_only_pruned_events_are_ever_skipped(ops: list) -> None:
    model = Model(Cursor(0))
    for op in ops:
        model.step(op)
        assert model.bus == sorted(set(model.bus))  # increasing, no duplicate
    model.commit(1, 1)  # a later event shows the cursor what was pruned at the end
    model.drain()
    missing = set(range(1, model.head + 1)) - set(model.bus)
    assert missing <= model.skipped_ok
    assert model.cursor.skipped == len(missing)


def test_an_own_commit_after_a_foreign_one_waits_for_the_read() -> None:
    cursor = Cursor[Ev](10)
    assert cursor.own([Ev(13), Ev(14)]) == []  # 11 and 12 (another node's) not on the bus
    assert cursor.read([Ev(11), Ev(12), Ev(13), Ev(14)], 0.0) == [Ev(s) for s in (11, 12, 13, 14)]
    assert cursor.own([Ev(13), Ev(14)]) == []  # late hand-over: already read
    assert cursor.own([Ev(15)]) == [Ev(15)]  # continues the run: published at once
    assert cursor.read([Ev(15)], 0.0) == []


def test_a_leading_gap_is_waited_for_then_skipped() -> None:
    cursor = Cursor[Ev](0, gap_grace=1.0)
    assert cursor.read([Ev(5), Ev(6)], 10.0) == []
    assert cursor.read([Ev(5), Ev(6)], 10.9) == []
    assert cursor.read([Ev(5), Ev(6)], 11.0) == [Ev(5), Ev(6)]
    assert (cursor.published, cursor.skipped, cursor.gap_since) == (6, 4, None)
    assert cursor.behind(7)
    assert not cursor.behind(6)
