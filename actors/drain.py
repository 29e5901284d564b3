"""A planned stop of the engine, as its running actions see it (``docs/engine.md``).

When the daemon is asked to stop, every job actor stops firing and *drains*: it joins the
:class:`Drain` with the runs it still has in flight and waits for them. The daemon gives
them ``daemon.drain_timeout`` seconds (:func:`run_drain`), reporting what it waits for;
then — or at once for ``gnomon daemon stop --now`` — it *interrupts* them: their process
groups are killed, and each run is recorded ``interrupted`` with the output it printed so
far. An interrupted attempt is not charged: the job state machine puts it back as a retry
due at once, so it runs again at the next start (``run.interrupted``). A daemon killed
with ``-9`` never gets here: its runs are orphans at the next boot, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs
import trio

log = logging.getLogger("gnomon.daemon")

#: How often :func:`run_drain` reports while it waits.
REPORT_EVERY = 0.5
#: Seconds a job actor has after the drain limit to kill its interrupted runs (SIGTERM,
#: ``kill_grace``, SIGKILL) and record them, before its supervisor cancels it; a run
#: still open then is an orphan at the next boot.
STOP_MARGIN = 15.0


@attrs.frozen(kw_only=True)
class InFlight:
    """One run a stopping daemon waits for."""

    job: str
    job_id: str
    run_id: str
    started_at: datetime


class Interruptible(Protocol):
    """The runs in flight of one draining job actor."""

    def in_flight(self) -> list[InFlight]:
        """The runs not yet ended."""
        ...

    def interrupt(self, reason: str) -> None:
        """Kill every run in flight; each is recorded ``interrupted`` with ``reason``."""
        ...


@attrs.frozen(kw_only=True)
class DrainReport:
    """A snapshot of a stop in progress: what it waits for and what it interrupted."""

    limit: float
    elapsed: float = 0.0
    now: bool = False
    waiting: tuple[InFlight, ...] = ()
    interrupted: tuple[InFlight, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The report as ``stop.json`` holds it (``gnomon daemon stop`` prints it)."""
        return {
            "limit": self.limit,
            "elapsed": round(self.elapsed, 3),
            "now": self.now,
            "waiting": [_run_json(r) for r in self.waiting],
            "interrupted": [_run_json(r) for r in self.interrupted],
        }

    def line(self) -> str:
        """One log line: ``stopping: waiting for nightly (drain limit 30s)``."""
        if self.interrupted and not self.waiting:
            return "stopping: interrupted " + ", ".join(r.job for r in self.interrupted)
        if not self.waiting:
            return "stopping: no action running"
        names = ", ".join(r.job for r in self.waiting)
        return f"stopping: waiting for {names} (drain limit {self.limit:g}s)"


def _run_json(run: InFlight) -> dict[str, Any]:
    return {
        "job": run.job,
        "job_id": run.job_id,
        "run_id": run.run_id,
        "started_at": run.started_at.isoformat(),
    }


class Drain:
    """The runs every draining job actor still waits for (see the module docstring)."""

    def __init__(self) -> None:
        self._members: dict[int, Interruptible] = {}
        self.reason: str | None = None
        self.interrupted: list[InFlight] = []

    def join(self, member: Interruptible) -> None:
        """A job actor starts draining; interrupted at once if the stop already did."""
        self._members[id(member)] = member
        if self.reason is not None:
            self._interrupt(member, self.reason)

    def leave(self, member: Interruptible) -> None:
        """A job actor has no run left (or gave up waiting)."""
        self._members.pop(id(member), None)

    def waiting(self) -> list[InFlight]:
        """Every run still in flight, oldest first."""
        runs = [run for m in self._members.values() for run in m.in_flight()]
        return sorted(runs, key=lambda r: (r.started_at, r.job, r.run_id))

    def interrupt(self, reason: str) -> None:
        """Interrupt every run in flight now and every run that joins later."""
        self.reason = reason
        for member in list(self._members.values()):
            self._interrupt(member, reason)

    def _interrupt(self, member: Interruptible, reason: str) -> None:
        self.interrupted += member.in_flight()
        member.interrupt(reason)


@attrs.define
class StopJournal:
    """Writes each drain report (after ``head``: the daemon's pid and boot) with
    ``write`` — the daemon's ``stop.json`` — and logs its line when it changes."""

    write: Callable[[dict[str, Any]], None]
    head: Mapping[str, Any]
    last: DrainReport

    def report(self, rep: DrainReport, *, done: bool = False) -> None:
        """Write and log ``rep``; a ``stop.json`` that cannot be written (a full disk)
        is logged, never an error: the stop goes on."""
        try:
            self.write({**self.head, **rep.as_json(), "done": done})
        except OSError as exc:
            log.warning("stop progress not written: %s", exc)
        if rep.line() != self.last.line() or done:
            log.info("%s", rep.line())
        self.last = rep


async def run_drain(
    drain: Drain,
    *,
    limit: float,
    now: trio.Event,
    report: Callable[[DrainReport], None],
) -> None:
    """Give the runs in flight ``limit`` seconds (less if ``now`` is set), then interrupt
    them; call ``report`` every :data:`REPORT_EVERY` seconds until cancelled.

    Cancellation: the caller cancels it once the engine has stopped; nothing to clean up.
    """
    began = trio.current_time()
    deadline = began + limit
    while True:
        if drain.reason is None and (now.is_set() or trio.current_time() >= deadline):
            why = "`gnomon daemon stop --now`" if now.is_set() else f"drain limit {limit:g}s"
            drain.interrupt(f"run interrupted: the daemon was stopped ({why})")
        report(
            DrainReport(
                limit=limit,
                elapsed=trio.current_time() - began,
                now=now.is_set(),
                waiting=tuple(drain.waiting()),
                interrupted=tuple(drain.interrupted),
            )
        )
        wake = trio.current_time() + REPORT_EVERY
        if drain.reason is None:
            wake = min(wake, deadline)
        with trio.move_on_at(wake):
            if drain.reason is None:
                await now.wait()
            else:
                await trio.sleep_forever()
