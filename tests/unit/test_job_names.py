"""Names cannot hide ids: a new job's name made of 4-16 hex digits alone is refused with a
fix, the name rule says ASCII as it enforces it, and stored jobs are never re-checked."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.actors.directory import MIN_PREFIX
from gnomon.actors.engine import new_job_id
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.job import NAME_FORMS, NAME_RE, check_new_name, looks_like_id

HEX = "0123456789abcdefABCDEF"


@given(st.text(HEX, min_size=MIN_PREFIX, max_size=len(new_job_id())))
def test_every_id_or_id_prefix_shape_is_refused(name: str) -> None:
    """Any string a REF could read as an id or an id prefix is not a new name."""
    assert looks_like_id(name)
    with pytest.raises(InvalidInput) as caught:
        check_new_name(name)
    assert caught.value.token == name
    assert caught.value.hint == f"add a letter outside a-f or a separator, e.g. 'job-{name}'"


def test_a_shown_id_and_its_prefixes_are_refused_other_names_pass() -> None:
    """d38fcb8c (a shown id) is refused; backup, job-d38fcb8c, 2026-01, abc are names."""
    job_id = new_job_id()
    for name in (job_id, job_id[:8], job_id[:MIN_PREFIX], "d38fcb8c", "CAFE", "2024"):
        assert looks_like_id(name), name
    for name in ("backup", "job-d38fcb8c", "d38fcb8g", "2026-01", "abc", job_id + "0"):
        assert not looks_like_id(name), name
        check_new_name(name)


def test_the_name_rule_says_ascii_as_it_enforces_it() -> None:
    """café is refused and the message says ASCII letters (the rule and message agree)."""
    assert NAME_RE.match("cafe")
    assert not NAME_RE.match("café")
    assert "ASCII" in NAME_FORMS[0]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gnomon.cli", *args], capture_output=True, text=True, check=False
    )


def test_schedule_refuses_an_id_like_name_with_a_hint() -> None:
    """`gnomon schedule d38fcb8c …` exits 2 with the reason and a hint; café says ASCII."""
    done = cli("schedule", "d38fcb8c", "--do", "noop", "--dry-run")
    assert done.returncode == 2
    assert "job name 'd38fcb8c' looks like a job id" in done.stderr
    assert "hint: add a letter outside a-f or a separator, e.g. 'job-d38fcb8c'" in done.stderr
    cafe = cli("schedule", "café", "--do", "noop", "--dry-run")
    assert cafe.returncode == 2
    assert "ASCII" in cafe.stderr
