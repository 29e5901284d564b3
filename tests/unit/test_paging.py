"""Paging helpers: cursors round-trip and refuse anything else by name; a page holds
what fits in the byte budget, at least one item, so paging always advances."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.actors.core.paging import (
    fitting,
    jobs_cursor,
    read_jobs_cursor,
    read_runs_cursor,
    reply_budget,
    runs_cursor,
)
from gnomon.runtime.errors import InvalidInput


@given(rowid=st.integers(0, 2**62))
def test_jobs_cursor_round_trips(rowid: int) -> None:
    """A job.list cursor gives back its row id."""
    assert read_jobs_cursor(jobs_cursor(rowid)) == rowid


@given(started=st.floats(0, 4e9, allow_nan=False), run_id=st.text(max_size=40))
def test_runs_cursor_round_trips(started: float, run_id: str) -> None:
    """A job.logs cursor gives back its exact (started_ts, run_id) key."""
    assert read_runs_cursor(runs_cursor(started, run_id)) == (started, run_id)


@pytest.mark.parametrize("bad", ["", "x", "!!!", "WyJqb2JzIl0", "bnVsbA", "WyJqb2JzIiwiMSJd"])
def test_damaged_jobs_cursor_is_invalid_input(bad: str) -> None:
    """Garbage, a truncated cursor or a wrong value type is -32602 naming the cursor."""
    with pytest.raises(InvalidInput) as err:
        read_jobs_cursor(bad)
    assert err.value.field == "cursor"
    assert err.value.token == bad


def test_cursor_of_another_method_is_refused() -> None:
    """A job.list cursor is not a job.logs cursor, and the other way round."""
    with pytest.raises(InvalidInput, match=r"job\.logs"):
        read_runs_cursor(jobs_cursor(5))
    with pytest.raises(InvalidInput, match=r"job\.list"):
        read_jobs_cursor(runs_cursor(1.5, "r"))
    assert read_jobs_cursor(None) == 0
    assert read_runs_cursor(None) is None


@given(sizes=st.lists(st.integers(1, 5000), max_size=50), budget=st.integers(1, 20000))
def test_fitting_takes_what_fits_and_at_least_one(sizes: list[int], budget: int) -> None:
    """The chosen prefix fits the budget (commas included) unless it is a single item,
    and one more item would not fit."""
    n = fitting(iter(sizes), budget)
    assert n == 0 if not sizes else n >= 1
    used = sum(sizes[:n]) + max(0, n - 1)
    assert n <= 1 or used <= budget
    if n < len(sizes):
        assert used + 1 + sizes[n] > budget


def test_reply_budget_is_at_most_a_mebibyte() -> None:
    """Pages fit in 1 MiB whatever the frame limit, less when the limit is smaller."""
    assert reply_budget(64 << 20) < 1 << 20
    assert reply_budget(64 * 1024) < 64 * 1024
    assert reply_budget(1) == 1
