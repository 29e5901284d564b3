"""Properties of the pure poll book (actors/core/wait_book.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from gnomon.actors.core.canon import Canon
from gnomon.actors.core.wait_book import Decision, PollResult, WaitBook, spread

AT = datetime(2026, 1, 1, tzinfo=UTC)
SAVE_EVERY = 60.0

results = st.builds(
    PollResult,
    value=st.sampled_from([False, None, True]),
    summary=st.sampled_from(["", "refused", "timed out"]),
    transient=st.booleans(),
    breaker_open=st.booleans(),
)
polls = st.lists(st.tuples(st.floats(0, 40), results), max_size=40)


@given(polls, st.integers(0, 10))
def test_only_a_change_an_end_or_the_save_bound_reaches_the_job(
    seq: list[tuple[float, PollResult]], max_polls: int
) -> None:
    """A quiet poll repeats the last saved result (or is a breaker refusal) within
    ``save_every`` of the last save; everything else is delivered or saved, and then
    nothing is left unsaved."""
    book = WaitBook(save_every=SAVE_EVERY)
    entry = book.add(
        job_id="j", cycle=1, plan=None, interval=5, max_polls=max_polls, polls=3, now=0
    )
    now, saved_key, saved_at = 0.0, None, 0.0
    for count, (dt, result) in enumerate(seq, start=4):
        now += dt
        decision = book.record(entry, result, now, AT)
        assert entry.polls == count
        ends = result.ends_wait() or (max_polls and count >= max_polls)
        if ends or (not result.breaker_open and result.key() != saved_key):
            assert decision is Decision.DELIVER
        elif now - saved_at >= entry.save_after:
            assert decision is Decision.SAVE
        else:
            assert decision is Decision.QUIET
            assert book.unsaved("j") == [entry]
            continue
        saved_at = now
        if not result.breaker_open:  # a refusal says nothing of the target
            saved_key = result.key()
        assert book.unsaved("j") == []
        assert entry.saved_polls == entry.polls


@given(st.lists(st.floats(0, 12), min_size=1, max_size=30))
def test_polls_stay_on_the_grid_of_their_start(durations: list[float]) -> None:
    """Poll n+1 is due at ``start + n·interval``, or at once when poll n overran it."""
    book = WaitBook()
    entry = book.add(job_id="j", cycle=1, plan=None, interval=5, max_polls=0, polls=0, now=100)
    now = 100.0
    for n, took in enumerate(durations, start=1):
        (due,) = book.due(now, 10)
        assert due is entry
        assert entry.in_flight
        assert book.due(now + 1000, 10) == []  # in flight: never handed out twice
        now += took
        book.record(entry, PollResult(value=False), now, AT)
        book.reschedule(entry, now)
        expected = max(now, 100 + n * 5)
        assert book.next_deadline() == expected
        now = expected


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 3)), max_size=20))
def test_removed_waits_are_never_due_and_re_adding_keeps_progress(
    ops: list[tuple[str, int]],
) -> None:
    book = WaitBook()
    live: set[tuple[str, int]] = set()
    for job, cycle in ops:
        if (job, cycle) in live:
            book.remove(job, cycle)
            live.discard((job, cycle))
        else:
            book.add(job_id=job, cycle=cycle, plan=None, interval=5, max_polls=0, polls=0, now=0)
            live.add((job, cycle))
    assert len(book) == len(live)
    assert {(e.job_id, e.cycle) for e in book.due(0, 1000)} == live
    for job, cycle in live:
        entry = book.get(job, cycle)
        assert entry is not None
        book.record(entry, PollResult(value=False), 1, AT)
        again = book.add(
            job_id=job, cycle=cycle, plan=None, interval=5, max_polls=0, polls=0, now=9
        )
        assert again is entry
        assert again.polls == 1


@given(st.text(min_size=1, max_size=16))
def test_the_save_bound_is_stretched_by_less_than_half_and_fixed_per_job(job_id: str) -> None:
    book = WaitBook(save_every=SAVE_EVERY)
    entry = book.add(job_id=job_id, cycle=1, plan=None, interval=5, max_polls=0, polls=0, now=0)
    assert SAVE_EVERY <= entry.save_after < 1.5 * SAVE_EVERY
    assert entry.save_after == SAVE_EVERY * spread(job_id)


def test_waits_share_one_result_object_per_outcome() -> None:
    """Equal results of many waits are one object (10k waits on one port keep one
    "connection refused"); a change is still measured against what each job saved."""
    book = WaitBook(save_every=SAVE_EVERY)
    a = book.add(job_id="a", cycle=1, plan=None, interval=5, max_polls=0, polls=0, now=0)
    b = book.add(job_id="b", cycle=1, plan=None, interval=5, max_polls=0, polls=0, now=0)
    refused = lambda: PollResult(value=False, summary="".join(["re", "fused"]))  # noqa: E731
    assert book.record(a, refused(), 1, AT) is Decision.DELIVER
    assert book.record(b, refused(), 1, AT) is Decision.DELIVER
    assert a.last is b.last
    assert a.saved is a.last
    assert book.record(a, refused(), 6, AT) is Decision.QUIET
    assert book.record(a, PollResult(value=None, summary="t", transient=True), 11, AT) is (
        Decision.DELIVER
    )
    assert a.saved_key == (None, True, "t")
    assert b.saved_key == (False, False, "refused")


def test_canon_hands_back_the_first_equal_object_and_starts_over_when_full() -> None:
    """One object per distinct hashable value; unhashable values pass through."""
    canon = Canon(size=2)
    first = "".join(["127.0.", "0.1"])
    assert canon(first) is first
    assert canon("".join(["127.", "0.0.1"])) is first
    assert type(canon(5.0)) is float
    assert type(canon(5)) is int  # equal to 5.0, but not the same value for a reader
    assert len(canon) == 1  # started over at 2 held values
    env: dict[str, str] = {}
    assert canon(env) is env
