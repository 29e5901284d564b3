"""The supervisor's pure restart decisions: restart types, intensity, strategies, backoff."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.restarts import (
    Crashed,
    ExitReason,
    Normal,
    Restart,
    RestartBackoff,
    RestartWindow,
    Shutdown,
    Strategy,
    Verdict,
    judge_exit,
    restart_delay,
    restarted_with,
    should_restart,
)

CRASH = Crashed(RuntimeError("boom"), "Traceback …")


@pytest.mark.parametrize(
    ("restart", "reason", "restarts"),
    [
        (Restart.PERMANENT, Normal(), True),
        (Restart.PERMANENT, Shutdown(), True),
        (Restart.PERMANENT, CRASH, True),
        (Restart.TRANSIENT, Normal(), False),
        (Restart.TRANSIENT, Shutdown(), False),
        (Restart.TRANSIENT, CRASH, True),
        (Restart.TEMPORARY, CRASH, False),
        (Restart.TEMPORARY, Normal(), False),
    ],
)
def test_restart_types(restart: Restart, reason: ExitReason, restarts: bool) -> None:
    """permanent always restarts, transient only after a crash, temporary never."""
    assert should_restart(restart, reason) is restarts


def test_intensity_gives_up_on_the_restart_past_the_limit() -> None:
    """Three restarts in the window are allowed, the fourth gives up."""
    window = RestartWindow(5.0)
    verdicts = [
        judge_exit(
            restart=Restart.PERMANENT,
            significant=False,
            reason=CRASH,
            intensity=3,
            window=window,
            now=t,
        )
        for t in (0.0, 1.0, 2.0, 3.0)
    ]
    assert verdicts == [Verdict.RESTART] * 3 + [Verdict.GIVE_UP]


def test_restarts_outside_the_period_are_forgotten() -> None:
    """A restart older than ``period`` seconds no longer counts."""
    window = RestartWindow(5.0)
    assert [window.record(t) for t in (0.0, 1.0, 5.5, 7.0)] == [1, 2, 2, 2]


def test_a_significant_crash_gives_up_at_once_but_its_normal_exit_does_not() -> None:
    """A significant child's crash gives up before any restart is counted."""
    window = RestartWindow(5.0)
    crash = judge_exit(
        restart=Restart.TRANSIENT,
        significant=True,
        reason=CRASH,
        intensity=3,
        window=window,
        now=0.0,
    )
    normal = judge_exit(
        restart=Restart.TRANSIENT,
        significant=True,
        reason=Normal(),
        intensity=3,
        window=window,
        now=0.0,
    )
    assert (crash, normal, list(window.times)) == (
        Verdict.GIVE_UP_SIGNIFICANT,
        Verdict.REMOVE,
        [],
    )


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=10.0), max_size=40),
    period=st.floats(min_value=0.1, max_value=20.0),
)
def test_the_window_counts_exactly_the_restarts_of_the_last_period(
    gaps: list[float], period: float
) -> None:
    """After each restart, the count is the number of restarts within ``period`` of it."""
    window, times, now = RestartWindow(period), [], 0.0
    for gap in gaps:
        now += gap
        times.append(now)
        assert window.record(now) == sum(1 for t in times if t >= now - period)


@pytest.mark.parametrize(
    ("strategy", "dead", "group"),
    [
        (Strategy.ONE_FOR_ONE, "b", None),
        (Strategy.SIMPLE_ONE_FOR_ONE, "b", None),
        (Strategy.ONE_FOR_ALL, "b", ["a", "b", "c"]),
        (Strategy.REST_FOR_ONE, "b", ["b", "c"]),
        (Strategy.REST_FOR_ONE, "c", ["c"]),
    ],
)
def test_strategies_pick_the_children_restarted_together(
    strategy: Strategy, dead: str, group: list[str] | None
) -> None:
    """one_for_one restarts alone; one_for_all all; rest_for_one it and those after it."""
    assert restarted_with(strategy, ["a", "b", "c"], dead) == group


def test_restart_delay_grows_with_recent_restarts_and_is_zero_without_backoff() -> None:
    """The n-th restart in the window waits at most base·2ⁿ⁻¹; no backoff means none."""
    window = RestartWindow(60.0)
    backoff = RestartBackoff(base=1.0, cap=30.0, rng=random.Random(3))
    for t in range(6):
        window.record(float(t))
        assert 0.0 <= restart_delay(backoff, window) <= min(30.0, 2.0**t)
    assert restart_delay(None, window) == 0.0


def test_the_restart_core_loads_without_trio() -> None:
    """runtime/restarts.py is pure: importing it leaves trio unimported."""
    code = "import gnomon.runtime.restarts, sys; assert 'trio' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
