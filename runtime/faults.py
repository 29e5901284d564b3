"""Named kill points for crash tests: ``GNOMON_CRASH_AT=<name>`` makes the process kill
itself with SIGKILL when it reaches that point (docs/development.md).

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
