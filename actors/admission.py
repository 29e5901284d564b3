"""Admission: the checks a new job passes before anything is stored (docs/engine.md).

Order (each refusal names its ``gnomon_enqueue_errors_total`` reason): agents switched
off (``agents_disabled``), action type not allowed (``action_disallowed``), rate limits —
global and per owner, charged all-or-nothing (``rate_limited``, with the time to retry) —,
semantic validation and the minimum interval ``limits.min_interval`` for intervals and
poll intervals (``invalid``), the shell policy for every command in the job
(``policy``), max live jobs, terminal records not counted (``full``), a live job with the
same name (``duplicate_name``), and the DAG: unknown or ambiguous references and cycles
(``invalid``), and — once the engine has loaded them — dependencies that never end, a
recurring or manual job (:meth:`Admission.check_dependencies`, ``invalid``). Internal
creations (trigger clones) skip the rate limits — they must never be dropped — but nothing
else.

A bulk create (``job.create_many``) runs the same checks in one pass:
:meth:`Admission.charge` once for the call (agents, then the rate limits charged one token
per spec to write, all at once), then :meth:`Admission.check_spec` per spec in the light
of a :class:`Batch` — the specs before it may be named by its ``depends_on`` and
``triggers``, count towards ``max_jobs`` and hold their names. The names of jobs admitted
but not yet indexed are *reserved*, so two concurrent creates cannot both take a name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from gnomon.actors.core import dag
from gnomon.actors.core.ratelimit import Bucket, admit
from gnomon.actors.directory import JobDirectory
from gnomon.runtime.errors import Conflict, GnomonError, InvalidInput, NotFound, Refused
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.bounds import DEFAULT_MIN_INTERVAL, INTERVAL_FLOOR
from gnomon.runtime.model.durations import format_duration
from gnomon.runtime.model.enums import OwnerKind
from gnomon.runtime.model.job import JobSpec, Owner, check_new_name
from gnomon.runtime.model.schedule import (
    IntervalSchedule,
    ManualSchedule,
    WhenReadySchedule,
    is_recurring,
)
from gnomon.runtime.model.state import JobState
from gnomon.runtime.model.when import format_when

PolicyCheck = Callable[[JobSpec], None]


@attrs.frozen(kw_only=True)
class AdmissionConfig:
    """The operator's limits (config ``limits.*``, ``agents.enabled``)."""

    global_rps: float = 5.0
    global_burst: float = 20.0
    owner_rps: float = 1.0
    owner_burst: float = 10.0
    max_jobs: int = 100_000
    min_interval: float = DEFAULT_MIN_INTERVAL
    action_allowlist: frozenset[str] | None = None
    agents_enabled: bool = True


@attrs.define
class Batch:
    """The specs of one bulk create admitted so far (see the module docstring).

    ``reserve``: their names are reserved for the call (not in a dry run).
    """

    names: dict[str, str] = attrs.field(factory=dict)  # name → job id (new or replaced)
    edges: dict[str, tuple[str, ...]] = attrs.field(factory=dict)  # id → depends_on ids
    specs: dict[str, JobSpec] = attrs.field(factory=dict)  # id → its spec in this call
    new: int = 0
    reserve: bool = True
    reserved: list[str] = attrs.field(factory=list)  # names to release when the call ends


@attrs.frozen(kw_only=True)
class Admitted:
    """A job that passed admission, with its references resolved to ids."""

    depends_on: tuple[str, ...]
    triggers: tuple[str, ...]


class Admission:
    """Stateful admission checks (the rate-limit buckets live here)."""

    def __init__(
        self,
        *,
        directory: JobDirectory,
        metrics: Metrics,
        config: AdmissionConfig,
        policy: PolicyCheck | None = None,
        elsewhere: Callable[[], int] = lambda: 0,
        resolve_elsewhere: Callable[[str], str | None] = lambda ref: None,
    ) -> None:
        """In a cluster, ``elsewhere`` counts the live jobs other nodes own
        (runtime/cluster/commands.py counts them in the database every second), so that
        ``max_jobs`` holds for the whole cluster, and ``resolve_elsewhere`` gives the id of
        a job another node owns as a recent lookup in the database found ``ref``
        (``depends_on``/``triggers`` across nodes; ``None``: unknown)."""
        self._directory = directory
        self._metrics = metrics
        self.config = config
        self._policy = policy
        self._global = Bucket(rate=config.global_rps, burst=config.global_burst)
        self._owners: dict[str, Bucket] = {}
        self._reserved: dict[str, str] = {}  # name → id of a job admitted, not yet indexed
        self._elsewhere = elsewhere
        self._resolve_elsewhere = resolve_elsewhere

    def set_agents_enabled(self, enabled: bool) -> None:
        """``agents.enabled`` changed (the agents' switch): agent-owned creates are refused
        while it is off."""
        self.config = attrs.evolve(self.config, agents_enabled=enabled)

    def check(
        self,
        spec: JobSpec,
        owner: Owner,
        now: datetime,
        *,
        internal: bool = False,
        replacing: str | None = None,
    ) -> Admitted:
        """Run every check; raise the first refusal (after counting it).

        ``replacing`` is the id of the live job this one replaces (``--replace``): its
        name is not a clash and it does not count towards ``max_jobs``.
        """
        try:
            return self._check(spec, owner, now, internal=internal, replacing=replacing)
        except GnomonError as exc:
            self._metrics.enqueue_errors.labels(_reason(exc)).inc()
            raise

    def _check(
        self,
        spec: JobSpec,
        owner: Owner,
        now: datetime,
        *,
        internal: bool,
        replacing: str | None,
    ) -> Admitted:
        self._agents(owner)
        self._allowed(spec)
        if not internal:
            self._rate(owner, now)
        return self._spec(spec, replacing, None)

    def _spec(self, spec: JobSpec, replacing: str | None, batch: Batch | None) -> Admitted:
        validate(spec)
        check_intervals(spec, self.config.min_interval)
        if self._policy is not None:
            self._policy(spec)
        self._capacity(replacing, batch)
        self._name(spec, replacing, batch)
        return self._dag(spec, replacing, batch)

    def charge(self, owner: Owner, now: datetime, count: int) -> None:
        """A bulk create's checks for the whole call: agents switched off, then the rate
        limits charged ``count`` tokens at once, all or nothing (after counting a refusal).

        Raises:
            Refused: ``agents_disabled`` or ``rate_limited`` (a batch larger than a
                bucket's burst can never pass: the message says how many fit).
        """
        try:
            self._agents(owner)
            if count:
                self._rate(owner, now, count)
        except GnomonError as exc:
            self._metrics.enqueue_errors.labels(_reason(exc)).inc()
            raise

    def check_spec(self, spec: JobSpec, *, replacing: str | None, batch: Batch) -> Admitted:
        """One spec of a bulk create: every check of :meth:`check` but the agents switch
        and the rate limits (:meth:`charge`), in the light of ``batch``; raise the first
        refusal (after counting it).
        """
        try:
            self._allowed(spec)
            return self._spec(spec, replacing, batch)
        except GnomonError as exc:
            self._metrics.enqueue_errors.labels(_reason(exc)).inc()
            raise

    def reserve(self, name: str, job_id: str) -> None:
        """Hold ``name`` for a job admitted but not indexed yet (until :meth:`release`)."""
        self._reserved[name] = job_id

    def release(self, *names: str) -> None:
        for name in names:
            self._reserved.pop(name, None)

    def check_dependencies(
        self, spec: JobSpec, dependencies: Sequence[JobState], pending: Sequence[JobSpec] = ()
    ) -> None:
        """Refuse ``depends_on`` a live job that never ends (after counting it);
        ``pending``: the specs of dependencies created earlier in the same bulk create.

        Raises:
            InvalidInput: a dependency is recurring or manual (see :func:`endless`).
        """
        try:
            endless(spec, dependencies, pending)
        except GnomonError as exc:
            self._metrics.enqueue_errors.labels(_reason(exc)).inc()
            raise

    def _agents(self, owner: Owner) -> None:
        if owner.kind is OwnerKind.AGENT and not self.config.agents_enabled:
            raise Refused(
                "agents are switched off on this daemon (agents.enabled = false)",
                reason="agents_disabled",
                hint="an operator can run: gnomon agents on",
            )

    def _allowed(self, spec: JobSpec) -> None:
        allow = self.config.action_allowlist
        tags = [spec.action.TAG]
        if spec.wait is not None and spec.wait.fallback is not None:
            tags.append(spec.wait.fallback.TAG)
        for tag in tags:
            if allow is not None and tag not in allow:
                raise Refused(
                    f"action type {tag!r} is not allowed on this daemon "
                    f"(allowed: {', '.join(sorted(allow))})",
                    reason="action_disallowed",
                )

    def _rate(self, owner: Owner, now: datetime, count: int = 1) -> None:
        key = str(owner)
        t = now.timestamp()
        mine = self._owners.get(key) or Bucket(
            rate=self.config.owner_rps, burst=self.config.owner_burst
        )
        (self._global, mine), decision = admit((self._global, mine), t, count)
        self._owners[key] = mine
        if decision.allowed:
            return
        if math.isinf(decision.retry_after):
            fits = int(min(b.burst for b in (self._global, mine) if b.rate > 0))
            raise Refused(
                f"rate limited: {count} new jobs at once are more than the rate limit's "
                f"burst of {fits}; send at most {fits} per call",
                reason="rate_limited",
                hint="limits.global_burst / limits.owner_burst set the bursts",
            )
        raise Refused(
            f"rate limited: too many new jobs; retry in {decision.retry_after:g}s",
            reason="rate_limited",
            retry_after=decision.retry_after,
            hint="limits.global_rps / limits.owner_rps set the rates",
        )

    def _capacity(self, replacing: str | None, batch: Batch | None = None) -> None:
        pending = len(self._reserved) + (
            batch.new if batch is not None and not batch.reserve else 0
        )
        live = self._directory.live_count + self._elsewhere() + pending
        live -= 1 if replacing is not None else 0
        if live >= self.config.max_jobs:
            raise Refused(
                f"the daemon holds its maximum of {self.config.max_jobs} live jobs",
                reason="full",
                hint="cancel or finish jobs, or raise limits.max_jobs",
            )

    def _name(self, spec: JobSpec, replacing: str | None, batch: Batch | None = None) -> None:
        holder = self._directory.live_name(spec.name) or self._reserved.get(spec.name)
        if holder is None and batch is not None:
            holder = batch.names.get(spec.name)
        if holder is not None and holder != replacing:
            raise Conflict(
                f"a live job is already named {spec.name!r} (id {holder})",
                hint="pick another name, or pass --replace to update it",
            )

    def _dag(self, spec: JobSpec, replacing: str | None, batch: Batch | None = None) -> Admitted:
        names = batch.names if batch is not None else {}
        depends = self._resolve(spec.depends_on, "depends_on", names)
        triggers = self._resolve(spec.triggers, "triggers", names)
        if replacing is not None and depends:  # a fresh id cannot close a cycle
            entries = self._directory.entries()
            edges = {e.id: e.depends_on for e in entries}
            edges |= (batch.edges if batch is not None else {}) | {replacing: depends}
            named = {e.id: e.name for e in entries} | {i: n for n, i in names.items()}
            dag.check_acyclic(edges, named)
        return Admitted(depends_on=depends, triggers=triggers)

    def _resolve(self, refs: tuple[str, ...], field: str, batch: dict[str, str]) -> tuple[str, ...]:
        """``refs`` as job ids: a spec earlier in the batch by name, else a live job."""
        out: list[str] = []
        for ref in refs:
            try:
                job_id = batch[ref] if ref in batch else self._lookup(ref)
            except GnomonError as exc:
                exc.message = f"{field}: {exc.message}"
                exc.args = (exc.message,)
                raise
            if job_id not in out:
                out.append(job_id)
        return tuple(out)

    def _lookup(self, ref: str) -> str:
        """This node's directory, else another node's job found in the database."""
        try:
            return self._directory.resolve(ref)
        except NotFound:
            found = self._resolve_elsewhere(ref)
            if found is None:
                raise
            return found


def validate(spec: JobSpec) -> None:
    """Checks that span several fields (single fields are checked by the types), and the
    rules only new jobs obey (a name that reads as a job id)."""
    check_new_name(spec.name)
    if isinstance(spec.schedule, WhenReadySchedule) and spec.wait is None:
        raise InvalidInput(
            "a when-ready job needs a condition to wait for",
            token="when-ready",
            accepted=["--wait COND / --until COND with --when when-ready", "gnomon wait --until"],
        )
    if spec.budget.backoff_max < spec.budget.backoff_initial:
        raise InvalidInput(
            f"--backoff-max ({spec.budget.backoff_max:g}s) is shorter than --backoff "
            f"({spec.budget.backoff_initial:g}s)",
            field="budget.backoff_max",
        )


def endless(
    spec: JobSpec, dependencies: Sequence[JobState], pending: Sequence[JobSpec] = ()
) -> None:
    """Refuse a dependency that never ends by itself: a recurring job (cron, interval)
    or a manual one would keep the new job blocked forever. ``pending``: specs of
    dependencies not stored yet (earlier in the same bulk create).

    Raises:
        InvalidInput: naming the dependency and the two ways to get what was meant.
    """
    live = [d.spec for d in dependencies if not d.status.terminal] + list(pending)
    for dep in live:
        schedule = dep.schedule
        if not (is_recurring(schedule) or isinstance(schedule, ManualSchedule)):
            continue
        kind = "manual" if isinstance(schedule, ManualSchedule) else "recurring"
        name, this = dep.name, spec.name
        raise InvalidInput(
            f"depends_on: {name} is a {kind} job ({format_when(schedule)}) and never ends, "
            f"so {this} would stay blocked forever",
            token=name,
            field="depends_on",
            accepted=[
                "--depends-on a job that ends (--at, --in, --when now|when-ready)",
                f"--triggers {this} on {name} instead",
            ],
            hint=f"to run {this} after each fire of {name}, schedule {this} with --when manual "
            f"and give {name} --triggers {this} (gnomon schedule {name} … --triggers {this} "
            "--replace)",
        )


def check_intervals(spec: JobSpec, floor: float) -> None:
    """Refuse an interval or a poll interval shorter than ``floor`` (``limits.min_interval``).

    Raises:
        InvalidInput: naming the field, its value, the limit and the config key.
    """
    found = [("budget.poll_interval", spec.budget.poll_interval)]
    if isinstance(spec.schedule, IntervalSchedule):
        found.insert(0, ("schedule.every", spec.schedule.every))
    for field, value in found:
        if value < floor:
            raise InvalidInput(
                f"{field} {format_duration(value)} is shorter than this daemon's minimum "
                f"interval {format_duration(floor)} (config limits.min_interval)",
                token=format_duration(value),
                accepted=(f"{format_duration(floor)} or more",),
                field=field,
                hint=f"an operator can lower limits.min_interval, down to "
                f"{format_duration(INTERVAL_FLOOR)}",
            )


def _reason(exc: GnomonError) -> str:
    if isinstance(exc, Refused):
        return exc.reason
    if isinstance(exc, Conflict) and "already named" in exc.message:
        return "duplicate_name"
    return "invalid"
