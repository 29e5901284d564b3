"""The drain of a planned stop in virtual time: runs get the drain limit, then are
interrupted (at once with --now, and so is a job actor that joins late), and every
report says what is waited for."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import trio

from gnomon.actors.drain import Drain, DrainReport, InFlight, StopJournal, run_drain

T = datetime(2026, 11, 1, tzinfo=UTC)


@attrs.define(eq=False)
class Runs:
    """A draining job actor's runs, as the drain sees them (interrupt ends them)."""

    job: str
    running: bool = True
    reason: str | None = None

    def in_flight(self) -> list[InFlight]:
        run = InFlight(
            job=self.job, job_id=f"id-{self.job}", run_id=f"{self.job}.1.1", started_at=T
        )
        return [run] if self.running else []

    def interrupt(self, reason: str) -> None:
        self.running, self.reason = False, reason


async def test_runs_get_the_limit_then_are_interrupted(autojump_clock: trio.abc.Clock) -> None:
    """A run still going at the limit is interrupted then, not before; reports name it."""
    drain, reports = Drain(), list[DrainReport]()
    slow = Runs("slow")
    drain.join(slow)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: run_drain(drain, limit=30, now=trio.Event(), report=reports.append)
        )
        await trio.sleep(29.9)
        assert slow.running
        assert [r.job for r in reports[-1].waiting] == ["slow"]
        await trio.sleep(0.2)
        assert slow.reason == "run interrupted: the daemon was stopped (drain limit 30s)"
        nursery.cancel_scope.cancel()
    assert [r.job for r in reports[-1].interrupted] == ["slow"]
    assert reports[-1].line() == "stopping: interrupted slow"


async def test_now_interrupts_at_once_and_late_joiners_too(autojump_clock: trio.abc.Clock) -> None:
    """--now (the event) interrupts what runs; a job actor draining later is interrupted
    as it joins; a run that ended by itself is not counted."""
    drain, now = Drain(), trio.Event()
    early, done = Runs("early"), Runs("done", running=False)
    drain.join(early)
    drain.join(done)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: run_drain(drain, limit=600, now=now, report=lambda r: None))
        await trio.sleep(1)
        now.set()
        await trio.sleep(0.01)
        assert early.reason is not None
        assert "`gnomon daemon stop --now`" in early.reason
        late = Runs("late")
        drain.join(late)
        assert late.reason == early.reason
        nursery.cancel_scope.cancel()
    assert [r.job for r in drain.interrupted] == ["early", "late"]
    assert trio.current_time() < 600


def test_journal_writes_every_report_and_logs_changes_only() -> None:
    """stop.json gets each report after the daemon's head; the log line only on change."""
    written: list[dict[str, object]] = []
    journal = StopJournal(write=written.append, head={"pid": 7}, last=DrainReport(limit=30))
    run = Runs("a").in_flight()[0]
    journal.report(DrainReport(limit=30, elapsed=1, waiting=(run,)))
    journal.report(DrainReport(limit=30, elapsed=2, waiting=(run,)), done=True)
    assert [w["elapsed"] for w in written] == [1, 2]
    assert written[-1]["pid"] == 7
    assert written[-1]["done"] is True
    assert written[0]["waiting"] == [
        {"job": "a", "job_id": "id-a", "run_id": "a.1.1", "started_at": T.isoformat()}
    ]
