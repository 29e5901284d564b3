"""Params and results of the ``job.*`` methods: the views of jobs and runs clients see,
creating, previewing, listing and selecting jobs (docs/protocol.md; ``job.create_many``
is in :mod:`gnomon.runtime.protocol_bulk`, ``job.backfill`` in
:mod:`gnomon.runtime.protocol_schedules`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.job import CreatedBy, JobSpec
from gnomon.runtime.protocol_paging import PAGE_LIMIT, page_limit

# -- views ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JobView:
    """A job as clients see it (``schedule``/``action``/``wait`` as DSL text).

    ``hold`` says what keeps ``next_fire_at`` from happening as shown (``paused``,
    ``blocked by smoke``, ``waiting for COND``); ``None`` when it is on time.
    """

    id: str
    name: str
    status: JobStatus
    owner: str
    created_by: CreatedBy
    tags: dict[str, str]
    description: str
    schedule: str
    action: str
    wait: str | None
    depends_on: tuple[str, ...]
    triggers: tuple[str, ...]
    next_fire_at: datetime | None
    last_outcome: Outcome | None
    attempts: int
    cycle: int
    message: str
    reason: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    parent_id: str | None = None
    expires_at: datetime | None = None
    spec: JobSpec
    hold: str | None = None


@attrs.frozen(kw_only=True)
class RunView:
    """One execution (docs/protocol.md run keys)."""

    run_id: str
    job_id: str
    cycle: int
    attempt: int
    fire_time: datetime
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome | None
    exit_code: int | None
    output: str
    error: str = ""
    fallback: bool = False


@attrs.frozen(kw_only=True)
class TransitionView:
    at: datetime
    from_status: JobStatus
    to_status: JobStatus
    reason: str


@attrs.frozen(kw_only=True)
class JobDetail:
    """``job.get``: the job, its last runs, its transitions and its next fires."""

    job: JobView
    runs: tuple[RunView, ...]
    transitions: tuple[TransitionView, ...]
    next_fires: tuple[datetime, ...]


@attrs.frozen(kw_only=True)
class JobsResult:
    """A bulk operation's jobs: ``count`` of them, of which ``jobs`` lists as many as fit
    in one frame."""

    jobs: tuple[JobView, ...]
    count: int


# -- params and results ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CreateParams:
    spec: JobSpec
    replace: bool = False


@attrs.frozen(kw_only=True)
class PreviewParams:
    spec: JobSpec
    after: datetime | None = None
    count: int = attrs.field(
        default=5, validator=[attrs.validators.ge(1), attrs.validators.le(1000)]
    )


@attrs.frozen(kw_only=True)
class Preview:
    job: JobSpec
    next_fires: tuple[datetime, ...]


@attrs.frozen(kw_only=True)
class RefParams:
    ref: str


@attrs.frozen(kw_only=True)
class ListParams:
    """Jobs matching every filter given, at most ``limit`` (1–5000) in one page;
    ``cursor`` is a previous page's ``next_cursor``. ``search``: text found, ignoring
    case, in the name, the id or a tag's ``key=value``. ``with_total``: also count every
    match (the page's ``total``)."""

    statuses: tuple[JobStatus, ...] = ()
    all: bool = False
    tags: tuple[str, ...] = ()
    owner: str | None = None
    name: str | None = None
    limit: int = page_limit(PAGE_LIMIT)
    cursor: str | None = None
    search: str | None = None
    with_total: bool = False


@attrs.frozen(kw_only=True)
class JobPage:
    """One page of jobs, oldest first (creation order, so paging never repeats or skips
    a job); ``next_cursor`` (pass it as ``cursor``) is ``null`` on the last page;
    ``total``: how many jobs match in all (``null`` unless ``with_total`` was asked)."""

    jobs: tuple[JobView, ...]
    next_cursor: str | None = None
    total: int | None = None


@attrs.frozen(kw_only=True)
class LogsParams:
    """The newest ``limit`` (1–5000) runs (of ``cycle``), older than ``cursor`` when
    given."""

    ref: str
    cycle: int | None = None
    limit: int = page_limit(100)
    cursor: str | None = None


@attrs.frozen(kw_only=True)
class RunsPage:
    """Runs, newest last; ``next_cursor`` (pass it as ``cursor``) leads to older ones and
    is ``null`` when there are none."""

    runs: tuple[RunView, ...]
    next_cursor: str | None = None


@attrs.frozen(kw_only=True)
class SelectParams:
    """Jobs by reference, by tag (``k`` or ``k=v``, all must match) or by status."""

    refs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    statuses: tuple[JobStatus, ...] = ()
    reason: str = ""


@attrs.frozen(kw_only=True)
class ClearParams:
    statuses: tuple[JobStatus, ...] = ()
    older_than: float | None = None
    name: str | None = None
    yes: bool = False


@attrs.frozen(kw_only=True)
class TreeNode:
    id: str
    name: str
    status: JobStatus
    parent: str | None
    children: tuple[str, ...]
    kind: Literal["root", "depends_on", "trigger"]


@attrs.frozen(kw_only=True)
class Tree:
    nodes: tuple[TreeNode, ...]
