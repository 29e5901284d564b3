"""Named kill points for crash tests: ``GNOMON_CRASH_AT=<name>`` makes the process kill
itself with SIGKILL when it reaches that point (docs/development.md). Named stall points
for stall tests: ``GNOMON_STALL_AT=<name>:<seconds>`` blocks the calling thread that long
there, as a long synchronous step or a frozen machine would (point: ``before_started``,
the daemon between its recovery and ``daemon.started``).

Points: ``after_claim_commit``, ``mid_group_commit`` and ``creating_store`` (the store;
the last while a first start builds its database), ``after_process_spawn`` and
``before_finish_commit`` (the engine), ``batch_between_chunks`` and
``batch_after_chunk_commit`` (the batch firer: before a slot's next chunk is committed,
and after a chunk's commit, before its actions start), ``batch_after_polls_commit`` (wait
results the firer committed, their pollers not yet answered). ``<name>@<n>`` dies
the ``n``-th time the point is reached instead of the first — a daemon passes
``mid_group_commit`` at its very first commit (``daemon.started``), so only a count lets
it die there in the middle of a storm. The variable is read once, at import; unset, a
crash point costs one comparison.
"""

from __future__ import annotations

import os
import signal
import time

POINTS = (
    "after_claim_commit",
    "mid_group_commit",
    "creating_store",
    "after_process_spawn",
    "before_finish_commit",
    "batch_between_chunks",
    "batch_after_chunk_commit",
    "batch_after_polls_commit",
)


def parse(spec: str) -> tuple[str, int]:
    """``name`` or ``name@n`` → ``(name, n)`` (``n`` ≥ 1; a bad count arms nothing)."""
    name, _, count = spec.partition("@")
    if not count:
        return name, 1
    try:
        n = int(count)
    except ValueError:
        return "", 0
    return (name, n) if n >= 1 else ("", 0)


_ARMED, _LEFT = parse(os.environ.get("GNOMON_CRASH_AT", ""))


def crash_point(name: str) -> None:
    """Die here, now, if ``GNOMON_CRASH_AT`` names this point (at its ``n``-th pass)."""
    global _LEFT
    if name == _ARMED:
        _LEFT -= 1
        if _LEFT <= 0:
            os.kill(os.getpid(), signal.SIGKILL)


def _stall_spec(spec: str) -> tuple[str, float]:
    """``name:seconds`` → ``(name, seconds)`` (a bad or missing duration arms nothing)."""
    name, _, seconds = spec.partition(":")
    try:
        return name, max(0.0, float(seconds))
    except ValueError:
        return "", 0.0


_STALL, _STALL_S = _stall_spec(os.environ.get("GNOMON_STALL_AT", ""))


def stall_point(name: str) -> None:
    """Block this thread for the armed seconds if ``GNOMON_STALL_AT`` names this point
    (every pass). Tests only: the event loop stops with it."""
    if name == _STALL and _STALL_S > 0:
        time.sleep(_STALL_S)
