"""Kill points: ``GNOMON_CRASH_AT=name`` and ``name@n`` kill the process with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from gnomon.runtime.faults import parse

PASS_FIVE_TIMES = (
    "from gnomon.runtime.faults import crash_point\n"
    "for i in range(5):\n"
    "    crash_point('other')\n"
    "    print(i, flush=True)\n"
    "    crash_point('mid_group_commit')\n"
)


def passes(armed: str) -> tuple[int, list[str]]:
    env = {**os.environ, "GNOMON_CRASH_AT": armed}
    done = subprocess.run(
        [sys.executable, "-c", PASS_FIVE_TIMES], env=env, capture_output=True, text=True, timeout=30
    )
    return done.returncode, done.stdout.split()


@pytest.mark.parametrize(
    ("armed", "printed", "code"),
    [
        ("mid_group_commit", ["0"], -signal.SIGKILL),
        ("mid_group_commit@3", ["0", "1", "2"], -signal.SIGKILL),
        ("mid_group_commit@9", ["0", "1", "2", "3", "4"], 0),
        ("after_claim_commit", ["0", "1", "2", "3", "4"], 0),
    ],
)
def test_a_kill_point_dies_at_its_nth_pass(armed: str, printed: list[str], code: int) -> None:
    """The process dies by SIGKILL at the n-th pass of the named point, and only there."""
    assert passes(armed) == (code, printed)


def test_parse_reads_counts_and_disarms_bad_ones() -> None:
    """``name@n`` carries a count; a count that is not a positive integer arms nothing."""
    assert parse("before_finish_commit") == ("before_finish_commit", 1)
    assert parse("mid_group_commit@12") == ("mid_group_commit", 12)
    assert parse("mid_group_commit@x") == ("", 0)
    assert parse("mid_group_commit@0") == ("", 0)
    assert parse("") == ("", 1)
