"""Per-job Prometheus series, bounded in cardinality (``docs/operations.md``).

For alerting on one job ("nightly-backup has not succeeded in 25 h")::

    gnomon_job_last_success_timestamp_seconds{job_name}   end of the last successful run
    gnomon_job_last_outcome{job_name, outcome}            1 for the last run's outcome
    gnomon_job_last_duration_seconds{job_name}            the last run's duration
    gnomon_job_next_fire_timestamp_seconds{job_name}      next scheduled fire (not while
                                                          paused, blocked or ended)
    gnomon_job_created_timestamp_seconds{job_name}        creation (for "never succeeded")

The label is ``job_name``, not ``job``: Prometheus owns ``job`` (the scrape job) and would
rename a scraped one to ``exported_job``. Which jobs get series: every job tagged
``metrics=on`` (config ``metrics.per_job_tag``), and up to ``metrics.per_job_max`` (200)
untagged jobs, the first seen (at start: the oldest); ``metrics=off`` opts a job out. A
job keeps its series until it is cleared or its record expires; the place it frees goes
to the next untagged job that is created or changes. Values come from the engine (every
saved job state: name, tags, status, next fire), from committed run ends (events) and, at
start, from the store (:func:`restore`), so the last success survives a restart.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import attrs
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store.sql_metrics import CatalogRow, HistoryRow

DEFAULT_MAX = 200
DEFAULT_TAG = "metrics=on"
_QUIET = frozenset({JobStatus.PAUSED, JobStatus.BLOCKED})


@attrs.define(slots=True)
class JobSample:
    """What the series of one job show."""

    id: str
    order: int
    name: str
    opt: bool | None  # True: tagged on, False: tagged off, None: untagged
    status: JobStatus = JobStatus.PENDING
    created: float | None = None
    next_fire: float | None = None
    last_success: float | None = None
    last_outcome: str | None = None
    last_duration: float | None = None


def parse_tag(text: str) -> tuple[str, str]:
    """``metrics=on`` → ``("metrics", "on")``; the off value is ``off``.

    Raises:
        InvalidInput: not ``KEY=VALUE`` (config ``metrics.per_job_tag``).
    """
    key, eq, value = (part.strip() for part in text.partition("="))
    if not (key and eq and value) or value == "off":
        raise InvalidInput(
            f"config metrics.per_job_tag: bad value {text!r}",
            token=text,
            accepted=["KEY=VALUE with VALUE other than off, e.g. metrics=on"],
            field="metrics.per_job_tag",
        )
    return key, value


#: How many forgotten job ids are remembered (a late save of one admits no series).
GONE_KEPT = 4096


class JobSeries(Collector):
    """The per-job gauges (see the module docstring), computed at scrape time.

    Only the jobs that get series are held (at most ``max_jobs`` untagged ones plus the
    tagged ones): a job is admitted when it is first seen — at start oldest first, then
    as it is created or saved — if it is tagged on, or untagged while a place is free.
    """

    def __init__(self, max_jobs: int = DEFAULT_MAX, tag: str = DEFAULT_TAG) -> None:
        self.max_jobs = max_jobs
        self.tag = parse_tag(tag)
        self._jobs: dict[str, JobSample] = {}
        self._order = itertools.count()
        self._untagged = 0
        self._gone: dict[str, None] = {}  # recently forgotten ids, oldest first (bounded)

    # -- feeding ---------------------------------------------------------------------

    def classify(self, tags: Mapping[str, str]) -> bool | None:
        """True: tagged on; False: tagged off; None: untagged (any other value too)."""
        key, on = self.tag
        value = tags.get(key)
        return True if value == on else False if value == "off" else None

    def _admit(self, job_id: str, name: str, tags: Mapping[str, str]) -> JobSample | None:
        """The job's sample, admitting it if it may have series (else ``None``)."""
        opt = self.classify(tags)
        sample = self._jobs.get(job_id)
        if sample is not None:
            if opt is False:
                self.forget(job_id)
                return None
            self._untagged += (opt is None) - (sample.opt is None)
            sample.opt, sample.name = opt, name
            return sample
        if opt is False or (opt is None and self._untagged >= self.max_jobs):
            return None
        self._untagged += opt is None
        order = next(self._order)
        sample = self._jobs[job_id] = JobSample(id=job_id, order=order, name=name, opt=opt)
        return sample

    def note_state(self, state: JobState) -> None:
        """A job state was saved: its name, tags, status and next fire. A save that lands
        after the job was forgotten (its actor's last write racing a clear) is ignored."""
        if state.id in self._gone:
            return
        sample = self._admit(state.id, state.spec.name, state.spec.tags)
        if sample is None:
            return
        sample.status = state.status
        sample.created = state.created_at.timestamp()
        nxt = state.next_fire_at
        sample.next_fire = None if nxt is None else nxt.timestamp()

    def run_ended(
        self, job_id: str | None, name: str | None, outcome: str, at: datetime, duration: float
    ) -> None:
        """A run end was committed (event time ``at``); ignored for jobs without series."""
        sample = None if job_id is None else self._jobs.get(job_id)
        if sample is None:
            return
        sample.last_outcome, sample.last_duration = outcome, duration
        if outcome == "success":
            sample.last_success = at.timestamp()

    def forget(self, job_id: str) -> None:
        """The job was cleared or expired: its series go, its place is free."""
        sample = self._jobs.pop(job_id, None)
        if sample is not None and sample.opt is None:
            self._untagged -= 1
        self._gone[job_id] = None
        if len(self._gone) > GONE_KEPT:
            del self._gone[next(iter(self._gone))]

    def chosen(self) -> list[JobSample]:
        """The jobs that have series, in the order they were admitted."""
        return sorted(self._jobs.values(), key=lambda s: s.order)

    # -- restoring at start ----------------------------------------------------------

    def load_catalog(self, rows: list[CatalogRow]) -> list[str]:
        """Admit the stored jobs chosen by the catalog (oldest first); their ids."""
        for row in rows:
            sample = self._admit(row.id, row.name, row.tags)
            if sample is not None:
                sample.status = JobStatus(row.status)
        return [s.id for s in self.chosen()]

    def load_history(self, rows: list[HistoryRow]) -> None:
        """Next fire, last success and last run of chosen jobs, from the store."""
        for h in rows:
            sample = self._jobs.get(h.id)
            if sample is None:
                continue
            sample.created = datetime.fromisoformat(h.created_at).timestamp()
            sample.next_fire = _ts(h.next_fire_at)
            sample.last_success = h.last_success_ts
            run = h.last_run
            if run is not None and run.outcome is not None and run.finished_at is not None:
                sample.last_outcome = run.outcome.value
                sample.last_duration = (run.finished_at - run.started_at).total_seconds()

    # -- scraping --------------------------------------------------------------------

    def _help(self, what: str) -> str:
        key, on = self.tag
        return (
            f"{what}; per job, bounded: up to {self.max_jobs} untagged jobs, the first seen "
            f"(metrics.per_job_max), and every job tagged {key}={on} (metrics.per_job_tag); "
            f"{key}=off opts out"
        )

    def collect(self) -> Iterator[Metric]:
        chosen = self.chosen()
        fams = {
            "success": self._family("last_success_timestamp_seconds", "End of the last success"),
            "duration": self._family("last_duration_seconds", "Duration of the last run"),
            "next": self._family("next_fire_timestamp_seconds", "Next scheduled fire"),
            "created": self._family("created_timestamp_seconds", "Creation time"),
        }
        outcome = GaugeMetricFamily(
            "gnomon_job_last_outcome",
            self._help("1 for the outcome of the job's last run"),
            labels=["job_name", "outcome"],
        )
        for s in chosen:
            _add(fams["success"], s.name, s.last_success)
            _add(fams["duration"], s.name, s.last_duration)
            quiet = s.status.terminal or s.status in _QUIET
            _add(fams["next"], s.name, None if quiet else s.next_fire)
            _add(fams["created"], s.name, s.created)
            if s.last_outcome is not None:
                outcome.add_metric([s.name, s.last_outcome], 1.0)
        yield from fams.values()
        yield outcome

    def _family(self, suffix: str, what: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"gnomon_job_{suffix}", self._help(what), labels=["job_name"])


def _add(family: GaugeMetricFamily, name: str, value: float | None) -> None:
    if value is not None:
        family.add_metric([name], value)


class HistorySource(Protocol):
    """The store's reads for :func:`restore`."""

    async def job_catalog(
        self, tag_key: str, classify: Callable[[dict[str, str]], bool | None], limit: int
    ) -> list[CatalogRow]: ...

    async def job_history(self, ids: Sequence[str]) -> list[HistoryRow]: ...


async def restore(series: JobSeries, store: HistorySource) -> None:
    """Fill ``series`` from the store at start: the jobs that get series (oldest first),
    then their next fire, last success and last run."""
    rows = await store.job_catalog(series.tag[0], series.classify, series.max_jobs)
    series.load_catalog(rows)
    series.load_history(await store.job_history([s.id for s in series.chosen()]))


def _ts(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()
