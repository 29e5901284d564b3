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
``metrics=on`` (config ``metrics.per_job_tag``), and the first ``metrics.per_job_max``
(200) other jobs in creation order, except those tagged ``metrics=off``; a job keeps its
series until it is cleared or its record expires. Values come from the engine (every
saved job state: name, tags, status, next fire), from committed run ends (events) and, at
start, from the store (:func:`restore`), so the last success survives a restart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
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


class JobSeries(Collector):
    """The per-job gauges (see the module docstring), computed at scrape time."""

    def __init__(self, max_jobs: int = DEFAULT_MAX, tag: str = DEFAULT_TAG) -> None:
        self.max_jobs = max_jobs
        self.tag = parse_tag(tag)
        self._jobs: dict[str, JobSample] = {}
        self._order = itertools.count()
        self._chosen: list[JobSample] | None = None

    # -- feeding ---------------------------------------------------------------------

    def _opt(self, tags: Mapping[str, str]) -> bool | None:
        key, on = self.tag
        if key not in tags:
            return None
        return tags[key] == on if tags[key] in (on, "off") else None

    def _sample(self, job_id: str, name: str, tags: Mapping[str, str]) -> JobSample:
        sample = self._jobs.get(job_id)
        opt = self._opt(tags)
        if sample is None:
            order = next(self._order)
            sample = self._jobs[job_id] = JobSample(id=job_id, order=order, name=name, opt=opt)
            self._chosen = None
        elif sample.opt != opt or sample.name != name:
            sample.opt, sample.name, self._chosen = opt, name, None
        return sample

    def note_state(self, state: JobState) -> None:
        """A job state was saved: its name, tags, status and next fire."""
        sample = self._sample(state.id, state.spec.name, state.spec.tags)
        sample.status = state.status
        sample.created = state.created_at.timestamp()
        nxt = state.next_fire_at
        sample.next_fire = None if nxt is None else nxt.timestamp()

    def run_ended(
        self, job_id: str | None, name: str | None, outcome: str, at: datetime, duration: float
    ) -> None:
        """A run end was committed (event time ``at``)."""
        if job_id is None:
            return
        sample = self._jobs.get(job_id) or self._sample(job_id, name or job_id, {})
        sample.last_outcome, sample.last_duration = outcome, duration
        if outcome == "success":
            sample.last_success = at.timestamp()

    def forget(self, job_id: str) -> None:
        """The job was cleared or expired: its series go."""
        if self._jobs.pop(job_id, None) is not None:
            self._chosen = None

    # -- choosing --------------------------------------------------------------------

    def chosen(self) -> list[JobSample]:
        """The jobs that get series: tagged on, then the first ``max_jobs`` others."""
        if self._chosen is None:
            picked, free = [], self.max_jobs
            for sample in sorted(self._jobs.values(), key=lambda s: s.order):
                if sample.opt is True or (sample.opt is None and free > 0):
                    picked.append(sample)
                    free -= sample.opt is None
            self._chosen = picked
        return self._chosen

    # -- restoring at start ----------------------------------------------------------

    def load_catalog(self, rows: list[CatalogRow]) -> list[str]:
        """Know every stored job (oldest first); the ids of those chosen."""
        for row in rows:
            self._sample(row.id, row.name, row.tags).status = JobStatus(row.status)
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
            f"{what}; per job: the first {self.max_jobs} jobs (metrics.per_job_max) and "
            f"every job tagged {key}={on} (metrics.per_job_tag); {key}=off opts out"
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

    async def job_catalog(self) -> list[CatalogRow]: ...

    async def job_history(self, ids: Sequence[str]) -> list[HistoryRow]: ...


async def restore(series: JobSeries, store: HistorySource) -> None:
    """Fill ``series`` from the store at start: every job (for the choice), then the next
    fire, last success and last run of the chosen ones."""
    chosen = series.load_catalog(await store.job_catalog())
    series.load_history(await store.job_history(chosen))


def _ts(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()
