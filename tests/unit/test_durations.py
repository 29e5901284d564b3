"""Durations: every unit up to weeks, exact round trips, clear errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.durations import format_duration, format_in, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("7d", 604800),
        ("2w", 1209600),
        ("1d12h", 129600),
        ("30", 30),
        ("1.5", 1.5),
        (" 2H ", 7200),
        ("1.5h", 5400),
        ("1m30s500ms", 90.5),
        ("0s", 0),
    ],
)
def test_forms(text: str, seconds: float) -> None:
    """Each documented form parses to its number of seconds."""
    assert parse_duration(text) == seconds


def test_bug_16_1_16_seven_days_parses() -> None:
    """`7d` and `--older-than 7d` work (the predecessor rejected days)."""
    assert parse_duration("7d") == 7 * 86400


@pytest.mark.parametrize("text", ["", "-5m", "5x", "m5", "5m5m", "1.2345s", "5 minutes", "1e3"])
def test_errors_name_the_token_and_forms(text: str) -> None:
    """Bad input names itself and lists the accepted forms."""
    with pytest.raises(InvalidInput) as info:
        parse_duration(text)
    assert repr(text) in info.value.message
    assert "1h30m" in info.value.message


@given(st.integers(min_value=0, max_value=10**12))
def test_round_trip(millis: int) -> None:
    """parse(format(x)) == x at millisecond resolution."""
    seconds = millis / 1000
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=20))
def test_random_text_parses_or_raises_invalid_input(text: str) -> None:
    """No input makes the parser raise anything but InvalidInput."""
    with contextlib.suppress(InvalidInput):
        parse_duration(text)


def test_format_in() -> None:
    """Human delays show two consecutive units at most."""
    assert format_in(5 * 3600 + 12 * 60 + 7) == "in 5h12m"
    assert format_in(40) == "in 40s"
    assert format_in(-300) == "5m ago"
    assert format_in(86400 + 300) == "in 1d"
    assert format_in(0.2) == "now"
