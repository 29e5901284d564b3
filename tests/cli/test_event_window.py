"""The journalctl-style event window of `events` and `audit export`: seqs stay seqs,
durations are ago, clock times are the most recent, and bad bounds name the flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.cli.event_window import Bound, make_window, parse_bound, query_params
from gnomon.runtime.errors import InvalidInput

NOW = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
TZ = "Europe/Berlin"  # UTC+1 in December


def bound(text: str) -> Bound:
    return parse_bound(text, now=NOW, tz=TZ, flag="--since")


@given(st.integers(min_value=0, max_value=10**12))
def test_a_bare_integer_and_seq_n_are_seqs(seq: int) -> None:
    """`--since 1200` keeps meaning a seq, and so does `seq:1200`."""
    assert bound(str(seq)) == Bound(seq=seq) == bound(f"seq:{seq}")


@pytest.mark.parametrize(
    ("text", "ago"),
    [("1h", 3600), ("30m", 1800), ("2d", 172800), ("1h30m", 5400), ("90s", 90), ("1h ago", 3600)],
)
def test_durations_are_that_long_ago(text: str, ago: float) -> None:
    """A duration is an instant that long before now."""
    assert bound(text) == Bound(at=NOW - timedelta(seconds=ago))


def test_clock_times_days_and_iso_times() -> None:
    """HH:MM is the most recent one; today/yesterday are local midnights; ISO as --at."""
    assert bound("16:30") == Bound(at=datetime(2026, 12, 3, 15, 30, tzinfo=UTC))
    assert bound("18:00") == Bound(at=datetime(2026, 12, 2, 17, 0, tzinfo=UTC))  # yesterday
    assert bound("today") == Bound(at=datetime(2026, 12, 2, 23, 0, tzinfo=UTC))
    assert bound("yesterday") == Bound(at=datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
    assert bound("2026-12-01T08:00Z") == Bound(at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert bound("2026-12-01") == Bound(at=datetime(2026, 11, 30, 23, 0, tzinfo=UTC))


@pytest.mark.parametrize("text", ["soon", "seq:", "1x", "-5", "25:00"])
def test_bad_bounds_name_the_flag_and_the_forms(text: str) -> None:
    """Anything else is refused, naming the flag, the token and the accepted forms."""
    with pytest.raises(InvalidInput) as caught:
        parse_bound(text, now=NOW, tz=TZ, flag="--until")
    assert caught.value.message.startswith(f"--until: cannot read {text!r}")
    assert "seq:N" in caught.value.message
    assert "30m" in caught.value.message


def test_query_params_bound_seqs_times_and_the_horizon() -> None:
    """Seq bounds go to since_seq/until_seq (capped at the horizon), times as ISO."""
    window = make_window(
        since="1h", until="seq:50", tail=5, job="j", types=("job.*",), now=NOW, tz=TZ
    )
    params = query_params(window, job_id="abc", horizon=40)
    assert params == {
        "since_seq": 0,
        "since": (NOW - timedelta(hours=1)).isoformat(),
        "until": None,
        "until_seq": 40,
        "job": "abc",
        "types": ["job.*"],
    }
    assert (
        query_params(
            make_window(since="7", until=None, tail=None, now=NOW, tz=TZ), job_id=None, horizon=None
        )["since_seq"]
        == 7
    )
