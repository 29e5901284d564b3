"""Tables that read: one line per row, fitted to a terminal by cutting long columns with
``…``, uncut when piped or with -o wide; times as ages and short local times."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.cli.table import Cell, Column, cell_width, clip, fit, render
from gnomon.cli.timefmt import humanize, relative, short_duration, short_local
from gnomon.cli.views import JOB_COLUMNS, jobs_rows
from gnomon.runtime.model.durations import format_duration

COLUMNS = (
    Column("ID"),
    Column("NAME", flex=1),
    Column("STATUS"),
    Column("TAGS", flex=2),
    Column("OWNER", wide=True),
)
ROWS = [
    ["d38fcb8c", "nightly-backup-of-the-production-database", "pending", "team=ops, env=prod", "u"],
    ["0a1b2c3d", "x\ny", Cell("failed", "bold red"), "", "agent:claude"],
]
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@pytest.fixture(autouse=True)
def utc_zone() -> Iterator[None]:
    """Local times in these tests are UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_piped_tables_are_aligned_and_uncut() -> None:
    """Without a terminal every cell is whole, columns align, wide-only ones stay out."""
    lines = render(COLUMNS, ROWS, width=None)
    assert lines[0].split() == ["ID", "NAME", "STATUS", "TAGS"]
    assert "nightly-backup-of-the-production-database" in lines[1]
    assert lines[2].startswith("0a1b2c3d  x y ")  # one line per row, even for a newline
    assert lines[1].index("pending") == lines[2].index("failed") == lines[0].index("STATUS")
    assert "…" not in "".join(lines)


def test_a_terminal_cuts_the_flex_columns_with_an_ellipsis() -> None:
    """At 50 columns the name and tags are cut with …; id and status stay whole."""
    lines = render(COLUMNS, ROWS, width=50)
    assert all(cell_width(line) <= 50 for line in lines)
    assert "d38fcb8c" in lines[1]
    assert "pending" in lines[1]
    assert "…" in lines[1]
    assert len(lines) == 3


def test_wide_shows_every_column_uncut_and_colour_only_when_asked() -> None:
    """-o wide adds the wide-only columns and cuts nothing; colour is SGR codes."""
    lines = render(COLUMNS, ROWS, width=40, wide=True)
    assert lines[0].split() == ["ID", "NAME", "STATUS", "TAGS", "OWNER"]
    assert "nightly-backup-of-the-production-database" in lines[1]
    colored = render(COLUMNS, ROWS, width=None, color=True)
    assert "\x1b[1;31mfailed\x1b[0m" in colored[2]
    assert "\x1b[" not in "".join(render(COLUMNS, ROWS, width=None))


@given(
    rows=st.lists(st.lists(text, min_size=5, max_size=5), max_size=6),
    width=st.integers(min_value=1, max_value=160),
)
def test_every_line_fits_the_terminal(rows: list[list[str]], width: int) -> None:
    """Whatever the cells, each row is one line no wider than the terminal."""
    lines = render(COLUMNS, rows, width=width)
    assert len(lines) == len(rows) + 1
    for line in lines:
        assert "\n" not in line
        assert "\r" not in line
        assert cell_width(line) <= width


@given(rows=st.lists(st.lists(text, min_size=5, max_size=5), min_size=1, max_size=6))
def test_a_wide_enough_terminal_cuts_nothing(rows: list[list[str]]) -> None:
    """When the natural widths fit, the terminal shows exactly the piped table."""
    piped = render(COLUMNS, rows, width=None)
    widest = max(cell_width(line) for line in piped)
    assert render(COLUMNS, rows, width=widest) == piped


@given(st.text(max_size=40), st.integers(min_value=0, max_value=50))
def test_clip_keeps_a_prefix_within_the_width(value: str, width: int) -> None:
    """clip returns the text itself when it fits, else a prefix plus … within width."""
    cut = clip(value, width)
    assert cell_width(cut) <= width
    if cell_width(value) <= width:
        assert cut == value
    elif width == 0:
        assert cut == ""
    else:
        assert cut.endswith("…")
        assert value.startswith(cut[:-1])


def test_fit_cuts_by_weight_and_never_below_the_floor() -> None:
    """A flex-2 column is cut first and ends half as wide as a flex-1 one; flex 0 never."""
    assert fit([10, 40, 40], [6, 6, 6], [0, 1, 2], 60) == [10, 34, 16]
    assert fit([10, 40], [10, 8], [0, 1], 5) == [10, 8]


def test_wide_characters_take_two_cells() -> None:
    """East Asian wide characters count twice, so CJK names still fit."""
    assert cell_width("日本") == 4
    assert clip("日本語テキスト", 5) == "日本…"


def test_job_rows_show_ages_and_short_local_times() -> None:
    """NEXT FIRE is an age, an `at` schedule a short local time, never raw ISO."""
    now = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    job = {
        "id": "d38fcb8c1234abcd",
        "name": "n",
        "status": "pending",
        "next_fire_at": "2026-12-03T16:08:35.762671+00:00",
        "schedule": "at 2026-12-03T16:08:35.762671+00:00",
        "tags": {"team": "ops", "urgent": ""},
        "created_at": "2026-12-03T15:00:00+00:00",
        "owner": "user",
        "action": "noop",
    }
    (row,) = jobs_rows([job], now)
    lines = render(JOB_COLUMNS, [row], width=None, wide=True)
    assert "in 8m35s" in lines[1]
    assert "at 16:08:35" in lines[1]
    assert "team=ops, urgent" in lines[1]
    assert "1h ago" in lines[1]
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", lines[1])


def test_short_local_times_and_ages() -> None:
    """Today as a clock, tomorrow/yesterday by name, this year by month, else the date."""
    now = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    assert short_local(now + timedelta(minutes=8, seconds=35), now) == "16:08:35"
    assert short_local(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), now) == "tomorrow 09:00"
    assert short_local(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), now) == "yesterday 09:00"
    assert short_local(datetime(2026, 1, 5, 9, 30, tzinfo=UTC), now) == "Jan 05 09:30"
    assert short_local(datetime(2027, 1, 5, 9, 30, tzinfo=UTC), now) == "2027-01-05 09:30"
    assert relative(now + timedelta(hours=5, minutes=12, seconds=3), now) == "in 5h12m"
    assert relative(now - timedelta(seconds=180), now) == "3m ago"


def test_humanize_rewrites_timestamps_inside_text() -> None:
    """Reasons and schedules keep their words; their ISO timestamps become short times."""
    now = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    said = "next fire at 2026-12-03T16:20:00+00:00; slot 2026-12-03T16:30:53.762671+00:00"
    assert humanize(said, now) == "next fire at 16:20; slot 16:30:53"
    assert humanize("breaker open until 2026-12-04T00:00:00Z", now) == (
        "breaker open until tomorrow 00:00"
    )
    assert humanize("no time here 2026-13", now) == "no time here 2026-13"


@given(st.floats(min_value=0, max_value=10**9))
def test_short_duration_is_the_two_largest_units_of_the_canonical_form(seconds: float) -> None:
    """Ages keep the two largest non-zero units of the duration DSL's canonical form."""
    canonical = format_duration(float(int(seconds)) or 1.0)
    assert short_duration(seconds) == "".join(re.findall(r"\d+[a-z]+", canonical)[:2])
