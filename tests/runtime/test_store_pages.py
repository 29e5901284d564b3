"""Store pages behind ``job.list`` and ``job.logs``: keyed by what never changes (a job's
row id, a run's start), so paging visits each item once even when items change between
pages, with every filter applied. Both stores (``db``, ``conftest.py``)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import trio
from support.storekit import T0, later, running_store, state

from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.state import RunRecord
from gnomon.runtime.store import Changes, JobQuery
from gnomon.runtime.store.sqlite import SqliteStore


async def _all_pages(store: SqliteStore, query: JobQuery, limit: int) -> list[list[str]]:
    """Page through ``query`` ``limit`` at a time, touching every job between pages."""
    pages: list[list[str]] = []
    after = 0
    while rows := await store.page_jobs(attrs.evolve(query, limit=limit), after):
        pages.append([s.id for _, s in rows])
        after = rows[-1][0]
        moved = [attrs.evolve(s, next_fire_at=later(len(pages) * 60)) for _, s in rows]
        await store.commit(Changes(jobs=tuple(moved)))  # updates keep their place
    return pages


async def test_job_pages_visit_each_matching_job_once(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Pages of 3 over 10 jobs (some finished, some tagged) list each match once, in the
    order they were stored, updates between pages notwithstanding."""
    store = await running_store(nursery, db)
    jobs = []
    for i in range(10):
        job = state(f"j{i}", status=JobStatus.COMPLETED if i % 4 == 0 else JobStatus.PENDING)
        tags = {"even": ""} if i % 2 == 0 else {}
        jobs.append(attrs.evolve(job, spec=attrs.evolve(job.spec, tags=tags)))
    await store.commit(Changes(jobs=tuple(jobs)))
    live = await _all_pages(store, JobQuery(), 3)
    assert live == [["j1", "j2", "j3"], ["j5", "j6", "j7"], ["j9"]]
    every = await _all_pages(store, JobQuery(include_terminal=True), 4)
    assert [j for page in every for j in page] == [f"j{i}" for i in range(10)]
    even = await _all_pages(store, JobQuery(include_terminal=True, tags=(("even", None),)), 2)
    assert [j for page in even for j in page] == ["j0", "j2", "j4", "j6", "j8"]


async def test_run_pages_go_back_in_time_by_cycle(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """Runs page newest first below a (start, id) key, optionally one cycle's only."""
    store = await running_store(nursery, db)
    runs = tuple(
        RunRecord(
            run_id=f"a.{i}", job_id="a", cycle=1 + i // 3, attempt=1 + i % 3,
            fire_time=T0, started_at=T0 + timedelta(seconds=i // 2),  # pairs share a start
        )
        for i in range(7)
    )  # fmt: skip
    await store.commit(Changes(jobs=(state("a"),), runs=runs))
    seen, before = [], None
    while page := await store.runs_page("a", 2, before=before):
        seen += [r.run_id for _, r in page]
        before = (page[-1][0], page[-1][1].run_id)
    assert seen == [f"a.{i}" for i in reversed(range(7))]
    second = await store.runs_page("a", 10, cycle=2)
    assert [r.run_id for _, r in second] == ["a.5", "a.4", "a.3"]


async def test_search_matches_name_id_or_tag_and_counts_every_match(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, db: str
) -> None:
    """``search`` finds text in a name, an id or a tag's ``key=value``, ignoring case;
    ``count_jobs`` counts every match whatever the limit (tags filtered too)."""
    store = await running_store(nursery, db)
    jobs = []
    for i, (name, tags) in enumerate(
        [("Backup-db", {}), ("report", {"team": "Backup"}), ("sync", {"env": "prod"})]
    ):
        job = state(name, status=JobStatus.COMPLETED if i == 2 else JobStatus.PENDING)
        jobs.append(attrs.evolve(job, spec=attrs.evolve(job.spec, tags=tags)))
    await store.commit(Changes(jobs=tuple(jobs)))

    async def found(**kw: object) -> list[str]:
        rows = await store.page_jobs(JobQuery(include_terminal=True, **kw), 0)  # type: ignore[arg-type]
        return [s.spec.name for _, s in rows]

    assert await found(search="backup") == ["Backup-db", "report"]
    assert await found(search="ENV=PR") == ["sync"]
    assert await found(search="team=backup") == ["report"]
    assert await found(search="nothing") == []
    assert await store.count_jobs(JobQuery(include_terminal=True, search="backup", limit=1)) == 2
    assert await store.count_jobs(JobQuery(search="backup")) == 2  # live only: both pending
    assert await store.count_jobs(JobQuery(include_terminal=True, tags=(("env", None),))) == 1
    assert await store.count_jobs(JobQuery()) == 2
