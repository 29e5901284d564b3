"""Named kill points for crash tests: ``GNOMON_CRASH_AT=<name>`` makes the process kill
itself with SIGKILL when it reaches that point (ARCHITECTURE §4.5).

Points: ``after_claim_commit`` and ``mid_group_commit`` (the store),
``after_process_spawn`` and ``before_finish_commit`` (the engine). The variable is read
once, at import; unset, a crash point costs one comparison.
"""

from __future__ import annotations

import os
import signal

POINTS = ("after_claim_commit", "mid_group_commit", "after_process_spawn", "before_finish_commit")
_ARMED = os.environ.get("GNOMON_CRASH_AT", "")


def crash_point(name: str) -> None:
    """Die here, now, if ``GNOMON_CRASH_AT`` names this point."""
    if name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
