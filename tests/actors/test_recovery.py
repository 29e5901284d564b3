"""Boot recovery over the real store: orphaned runs are killed, closed, never found again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from support.storekit import T0, later, running_store

from gnomon.actors.directory import JobDirectory
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.recovery import recover
from gnomon.runtime import ChildSpec, Registry, Supervisor, VirtualClock, procs
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.state import RunRecord
from gnomon.runtime.store import Changes


async def empty_directory(nursery: trio.Nursery) -> JobDirectory:
    registry = Registry()
    jobs = await nursery.start(Supervisor("jobs", registry=registry).run)

    def spawn(job_id: str) -> ChildSpec:
        raise AssertionError(f"no job should be activated ({job_id})")

    return JobDirectory(supervisor=jobs, registry=registry, spawn=spawn, clock=VirtualClock(T0))


def open_run(run_id: str, **kw: Any) -> RunRecord:
    return RunRecord(
        run_id=run_id, job_id="j", cycle=1, attempt=1, fire_time=T0, started_at=T0, **kw
    )


async def test_orphaned_runs_are_killed_and_closed_once(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    """A run left open by a dead boot has its live group killed and its record closed as
    failed, so the next boot finds no orphan again."""
    sleeper = await trio.lowlevel.open_process(["sleep", "30"], start_new_session=True)
    try:
        ident = procs.identify(sleeper.pid, sleeper.pid)
        running = open_run(
            "j.1.1",
            pid=ident.pid,
            pgid=ident.pgid,
            proc_start=ident.start_time,
            host_boot=ident.boot_id,
        )
        store = await running_store(nursery, tmp_path / "g.db", inline=False, boot="dead")
        await store.commit(Changes(runs=(running, open_run("j.2.1"))))
        port = StorePersistence(store)
        report = await recover(
            await empty_directory(nursery), port, boot_id="next", grace=2, now=later(5)
        )
        assert report.orphans_killed == 1
        with trio.fail_after(10):
            assert await sleeper.wait() != 0
        assert await store.open_runs("next") == []
        closed = {r.run_id: r for r in await store.runs("j")}
        assert {r.outcome for r in closed.values()} == {Outcome.FAILED}
        assert closed["j.1.1"].finished_at == later(5)
        assert "orphaned" in closed["j.1.1"].error
        again = await recover(await empty_directory(nursery), port, boot_id="third", grace=2)
        assert (again.orphans_killed, again.orphans_gone) == (0, 0)
    finally:
        sleeper.kill()
        await sleeper.wait()
