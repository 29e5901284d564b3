"""What ``gnomon daemon stop`` prints while the daemon drains.

The stopping daemon writes its progress to ``<home>/stop.json`` (``actors/drain.py``):
the drain limit, the runs it still waits for and those it interrupted. :class:`StopProgress`
reads that file while the CLI waits for the process to end and prints a line whenever
something changes — and every :data:`EVERY` seconds while runs are waited for — so a stop
is never silent::

    stopping the daemon (pid 4242): waiting for nightly (running 12s) — 18s left of the
      30s drain limit; `gnomon daemon stop --now` interrupts it
    interrupted nightly (run 4dc3….1.1): output kept; it runs again at the next start
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from gnomon.runtime.home import Home

#: Seconds between two progress lines while nothing changes.
EVERY = 5.0


def _age(iso: str, now: datetime) -> str:
    try:
        began = datetime.fromisoformat(iso)
    except ValueError:
        return "?"
    return f"{max(0, int((now - began).total_seconds()))}s"


@attrs.define
class StopProgress:
    """Prints a stopping daemon's progress from its ``stop.json`` (see the module doc)."""

    home: Home
    pid: int
    echo: Callable[[str], None]
    _waiting: tuple[str, ...] | None = None
    _told: set[str] = attrs.field(factory=set)
    _last: float = 0.0

    def tick(self) -> None:
        """Read ``stop.json`` and print what changed (called while waiting)."""
        data = self.home.read_stop_json(self.pid)
        if data is not None:
            self._show(data, final=False)

    def finish(self) -> None:
        """Print what the stop interrupted that was not printed yet (after the exit)."""
        data = self.home.read_stop_json(self.pid)
        if data is not None:
            self._show(data, final=True)

    def _show(self, data: dict[str, Any], *, final: bool) -> None:
        for run in data.get("interrupted", []):
            if run["run_id"] not in self._told:
                self._told.add(run["run_id"])
                self.echo(
                    f"interrupted {run['job']} (run {run['run_id']}): output kept; "
                    "it runs again at the next start"
                )
        waiting = data.get("waiting", [])
        names = tuple(r["job"] for r in waiting)
        due = time.monotonic() - self._last >= EVERY
        if final or not waiting or (names == self._waiting and not due):
            self._waiting = names if waiting else self._waiting
            return
        self._waiting, self._last = names, time.monotonic()
        self.echo(self._line(data, waiting))

    def _line(self, data: dict[str, Any], waiting: list[dict[str, Any]]) -> str:
        return stop_line(self.pid, data, waiting)


def stop_line(pid: int, data: dict[str, Any], waiting: list[dict[str, Any]]) -> str:
    """One line of a stopping daemon's progress (``stop.json``'s ``data``) that waits for
    the runs ``waiting``."""
    now = datetime.now(UTC)
    runs = ", ".join(f"{r['job']} (running {_age(r['started_at'], now)})" for r in waiting)
    limit = float(data.get("limit", 0))
    if data.get("now") or data.get("interrupted"):
        return f"stopping the daemon (pid {pid}): interrupting {runs}"
    left = max(0, int(limit - float(data.get("elapsed", 0))))
    it = "it" if len(waiting) == 1 else "them"
    return (
        f"stopping the daemon (pid {pid}): waiting for {runs} — {left}s left of the "
        f"{limit:g}s drain limit; `gnomon daemon stop --now` interrupts {it}"
    )


def stopping_status(pid: int, data: dict[str, Any]) -> str:
    """``gnomon daemon status`` of a daemon that is stopping (its gateway is closed)."""
    waiting = data.get("waiting", [])
    if not waiting:
        return f"gnomon daemon: stopping (pid={pid})"
    return f"gnomon daemon: stopping (pid={pid})\n  {stop_line(pid, data, waiting)}"
