"""``job.create_many``: many job specs in one call (its params, per-spec answers, errors).

The gateway's method table (:data:`gnomon.runtime.protocol.METHODS`) names these types;
the semantics — one admission pass, one rate-limit charge, one store unit, ``mode``,
``atomic`` and ``dry_run`` — are documented with the method in ``docs/protocol.md`` and
implemented by :mod:`gnomon.actors.bulk`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs

from gnomon.runtime.errors import GnomonError, wire_data
from gnomon.runtime.model.job import JobSpec

MAX_SPECS = 10_000
CreateMode = Literal["create", "replace", "apply"]
SpecResult = Literal["created", "configured", "unchanged", "refused", "skipped"]
RESULTS: tuple[SpecResult, ...] = ("created", "configured", "unchanged", "refused", "skipped")


@attrs.frozen(kw_only=True)
class CreateManyParams:
    """Specs to create in one call, in order (a spec may name earlier ones in
    ``depends_on`` and ``triggers``); names must differ. Every check of ``job.create``
    runs, in one pass: the call is charged one rate-limit token per spec it would write,
    all at once (a refusal, -32004 ``rate_limited``, fails the whole call), a token's
    ``max_jobs`` counts the call's new jobs, and the new jobs are stored in one
    transaction. A spec that is not a well-formed JobSpec fails the call (-32602,
    ``data.details`` at ``$.specs[i]``); a refused spec gets its own ``error`` and the
    others go ahead.

    ``mode``: ``create`` refuses a spec whose name a live job has; ``replace`` updates that
    job in place (as ``job.create`` with ``replace``); ``apply`` leaves it alone when its
    spec is the same (``unchanged``; an ``every`` schedule's anchor is not compared) and
    updates it otherwise. ``atomic``: a refused spec fails the whole call (nothing is
    written; the specs that would have been are ``skipped``). ``dry_run``: say what would
    happen, write nothing, charge no rate limit. The request is one frame, so at most
    ``max_message_bytes`` (``system.hello``) long: send more specs in several calls, each
    after the specs it names (``gnomon apply`` does).
    """

    specs: tuple[JobSpec, ...] = attrs.field(validator=attrs.validators.max_len(MAX_SPECS))
    mode: CreateMode = "create"
    atomic: bool = False
    dry_run: bool = False


@attrs.frozen(kw_only=True)
class SpecError:
    """Why a spec was refused: a JSON-RPC error object (``code``, ``message``, ``data``)."""

    code: int
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, exc: GnomonError) -> SpecError:
        return cls(code=exc.rpc_code, message=exc.message, data=wire_data(exc))


@attrs.frozen(kw_only=True)
class CreatedJob:
    """One spec's answer: what happened to it (what would, in a dry run), the job's id
    (none for a refused, skipped or dry-run new job), its next fire and what holds it."""

    name: str
    result: SpecResult
    id: str | None = None
    next_fire_at: datetime | None = None
    hold: str | None = None
    error: SpecError | None = None


@attrs.frozen(kw_only=True)
class CreateManyResult:
    """``job.create_many``: one answer per spec, in order, and the count of each result."""

    jobs: tuple[CreatedJob, ...]
    created: int = 0
    configured: int = 0
    unchanged: int = 0
    refused: int = 0
    skipped: int = 0
    dry_run: bool = False

    @classmethod
    def of(cls, jobs: tuple[CreatedJob, ...], *, dry_run: bool) -> CreateManyResult:
        counts = dict.fromkeys(RESULTS, 0)
        for job in jobs:
            counts[job.result] += 1
        return cls(jobs=jobs, dry_run=dry_run, **counts)
