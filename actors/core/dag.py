"""Dependencies and triggers between jobs: references, cycles, trigger rules, clones.

Pure functions over plain data; the job directory feeds them its index.

- :func:`resolve_refs` turns ``depends_on``/``triggers`` references (a live job's name, an
  id, or a unique id prefix of at least :data:`MIN_PREFIX` characters) into ids.
- :func:`find_cycle` is a white/grey/black depth-first search: only a back edge to a grey
  node is a cycle, so diamonds and shared ancestors are legal (reference bug 16.1.11).
- :func:`evaluate` applies a trigger rule to the dependencies' final statuses:
  ``ready``, still ``blocked``, ``failed`` (``dependency failed: <name> ended <status>``)
  or ``skipped`` (``one_failed`` when nothing failed).
- :func:`propagate` follows an end through the graph transitively (16.1.3).
- :func:`clone_name` / :func:`clone_spec` / :func:`clone_job` build trigger clones
  ``<template>.t<n>`` that fire once and carry their ``parent_id`` lineage.

Refusals are the public errors: an unknown reference is ``NotFound``, an ambiguous one
``InvalidInput`` (naming the candidates), a cycle ``Conflict`` (naming the jobs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum

import attrs

from gnomon.runtime.errors import Conflict, InvalidInput, NotFound
from gnomon.runtime.model.enums import JobStatus, TriggerRule, TriggersOn
from gnomon.runtime.model.job import MIN_ID_PREFIX, CreatedBy, JobSpec
from gnomon.runtime.model.schedule import OnceSchedule
from gnomon.runtime.model.state import Dependency, JobState

MIN_PREFIX = MIN_ID_PREFIX
MAX_NAME = 128

#: Final statuses that count as a failure of a dependency (docs/engine.md).
FAILED_ENDS = frozenset({JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELLED})
REF_FORMS = ("a full job id", "a longer id prefix", "a live job's name")


@attrs.frozen
class JobRef:
    """What reference resolution needs to know of one job."""

    id: str
    name: str
    live: bool = True


def resolve_refs(refs: Iterable[str], jobs: Iterable[JobRef], *, field: str) -> tuple[str, ...]:
    """Resolve references to ids, in order, without duplicates.

    A reference is a live job's name, a job id, or a unique id prefix (at least
    :data:`MIN_PREFIX` characters); names of finished jobs do not resolve.

    Raises:
        NotFound: a reference matches no job.
        InvalidInput: a reference matches several jobs (the candidates are named).
    """
    known = list(jobs)
    out: list[str] = []
    for ref in refs:
        job_id = _resolve_one(ref, known, field)
        if job_id not in out:
            out.append(job_id)
    return tuple(out)


def _resolve_one(ref: str, known: Sequence[JobRef], field: str) -> str:
    exact = {j.id for j in known if j.id == ref}
    named = {j.id for j in known if j.live and j.name == ref}
    prefixed = set()
    if not exact and len(ref) >= MIN_PREFIX:
        prefixed = {j.id for j in known if j.id.startswith(ref)}
    matches = exact | named | prefixed
    if len(matches) == 1:
        return matches.pop()
    if matches:
        shown = ", ".join(sorted(matches)[:5])
        raise InvalidInput(
            f"{field} reference {ref!r} is ambiguous: it matches {len(matches)} jobs ({shown})",
            token=ref,
            field=field,
            accepted=REF_FORMS,
        )
    raise NotFound(
        f"{field} reference {ref!r} matches no job",
        hint="gnomon jobs list --all shows ids and names",
    )


def find_cycle(edges: Mapping[str, Iterable[str]]) -> tuple[str, ...] | None:
    """A cycle of ``edges`` (node → successors) as ``(a, b, c, a)``, or ``None``.

    White/grey/black DFS, iterative (no recursion limit); nodes that appear only as
    successors are leaves.
    """
    grey, black = set[str](), set[str]()
    for root in sorted(edges):
        if root in black:
            continue
        path: list[str] = [root]
        stack = [iter(sorted(edges.get(root, ())))]
        grey.add(root)
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done = path.pop()
                grey.discard(done)
                black.add(done)
            elif nxt in grey:
                return (*path[path.index(nxt) :], nxt)
            elif nxt not in black:
                grey.add(nxt)
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def check_acyclic(edges: Mapping[str, Iterable[str]], names: Mapping[str, str]) -> None:
    """Refuse a graph with a cycle, naming it with job names where known.

    Raises:
        Conflict: ``dependency cycle: a → b → c → a``.
    """
    cycle = find_cycle(edges)
    if cycle is not None:
        shown = " → ".join(names.get(n, n) for n in cycle)
        raise Conflict(f"dependency cycle: {shown}", hint="diamonds are fine; cycles are not")


class Readiness(StrEnum):
    """The verdict of a trigger rule over the dependencies' statuses so far."""

    READY = "ready"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"


@attrs.frozen
class Verdict:
    """A :class:`Readiness` and, unless ready or blocked, why."""

    readiness: Readiness
    message: str = ""


def _dep_failed(dep: Dependency) -> str:
    return f"dependency failed: {dep.name} ended {dep.status}"


def evaluate(rule: TriggerRule, deps: Sequence[Dependency]) -> Verdict:
    """Apply ``rule`` to the dependencies (``status=None`` = not ended yet).

    ``all_success``: every dependency completed; the first other end fails the job.
    ``all_done``: every dependency ended, however. ``one_success``: ready at the first
    completion; failed when all ended without one. ``one_failed``: ready at the first
    failure (failed, timed out, cancelled); skipped when all ended without one.
    ``none_failed``: every dependency completed or was skipped; a failure fails the job.
    No dependencies: ready.
    """
    ended = [d for d in deps if d.status is not None]
    done = len(ended) == len(deps)
    failed = [d for d in ended if d.status in FAILED_ENDS]
    succeeded = [d for d in ended if d.status is JobStatus.COMPLETED]
    match rule:
        case TriggerRule.ALL_SUCCESS:
            bad = [d for d in ended if d.status is not JobStatus.COMPLETED]
            if bad:
                return Verdict(Readiness.FAILED, _dep_failed(bad[0]))
        case TriggerRule.NONE_FAILED:
            if failed:
                return Verdict(Readiness.FAILED, _dep_failed(failed[0]))
        case TriggerRule.ONE_SUCCESS:
            if succeeded:
                return Verdict(Readiness.READY)
            if done and deps:
                ends = ", ".join(_ends(deps))
                return Verdict(Readiness.FAILED, f"dependency failed: none completed ({ends})")
        case TriggerRule.ONE_FAILED:
            if failed:
                return Verdict(Readiness.READY)
            if done and deps:
                ends = ", ".join(_ends(deps))
                return Verdict(
                    Readiness.SKIPPED, f"trigger rule one_failed: nothing failed ({ends})"
                )
        case TriggerRule.ALL_DONE:
            pass
    return Verdict(Readiness.READY if done else Readiness.BLOCKED)


def _ends(deps: Sequence[Dependency]) -> list[str]:
    return [f"{d.name} ended {d.status}" for d in deps]


@attrs.frozen(kw_only=True)
class Node:
    """A job in :func:`propagate`'s graph: its rule, dependencies and current status."""

    id: str
    name: str
    rule: TriggerRule = TriggerRule.ALL_SUCCESS
    deps: tuple[str, ...] = ()
    status: JobStatus = JobStatus.BLOCKED


def propagate(nodes: Mapping[str, Node], ended: str, status: JobStatus) -> dict[str, Verdict]:
    """Follow ``ended`` finishing with ``status`` through the graph, transitively.

    Returns the new verdict of every blocked job whose verdict changed to ready, failed
    or skipped; a job that fails or is skipped that way ends too and is followed in turn
    (a failed dependent fails its own dependents). Ready jobs are not followed: they have
    yet to run.
    """
    statuses = {i: n.status for i, n in nodes.items()}
    statuses[ended] = status
    dependents: dict[str, list[str]] = {}
    for node in nodes.values():
        for dep in node.deps:
            dependents.setdefault(dep, []).append(node.id)
    out: dict[str, Verdict] = {}
    todo = [ended]
    while todo:
        for child in sorted(dependents.get(todo.pop(), ())):
            node = nodes[child]
            if statuses[child] is not JobStatus.BLOCKED or child in out:
                continue
            deps = [_dep_view(nodes, statuses, d) for d in node.deps]
            verdict = evaluate(node.rule, deps)
            if verdict.readiness is Readiness.BLOCKED:
                continue
            out[child] = verdict
            if verdict.readiness is not Readiness.READY:
                statuses[child] = JobStatus(verdict.readiness.value)
                todo.append(child)
    return out


def _dep_view(nodes: Mapping[str, Node], statuses: Mapping[str, JobStatus], dep: str) -> Dependency:
    st = statuses.get(dep)
    name = nodes[dep].name if dep in nodes else dep
    return Dependency(id=dep, name=name, status=st if st is not None and st.terminal else None)


def should_trigger(on: TriggersOn, ended: JobStatus) -> bool:
    """Whether a fire that ended as ``ended`` starts the ``triggers`` templates.

    ``success``: completed. ``failure``: failed or timed out. ``done``: either. A
    cancelled or skipped fire starts nothing.
    """
    match on:
        case TriggersOn.SUCCESS:
            return ended is JobStatus.COMPLETED
        case TriggersOn.FAILURE:
            return ended in (JobStatus.FAILED, JobStatus.TIMED_OUT)
        case TriggersOn.DONE:
            return ended in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.TIMED_OUT)


def clone_name(template: str, taken: Iterable[str]) -> str:
    """``<template>.t<n>``, ``n`` one past the highest clone number in ``taken``.

    ``taken`` should hold at least the live names; passing finished names too keeps
    numbers from being reused. The template part is shortened if the whole name would
    pass :data:`MAX_NAME` characters.
    """
    names = set(taken)
    highest = 0
    for name in names:
        head, sep, tail = name.rpartition(".t")
        if sep and head == template and tail.isdigit():
            highest = max(highest, int(tail))
    n = highest + 1
    while True:
        suffix = f".t{n}"
        candidate = template[: MAX_NAME - len(suffix)] + suffix
        if candidate not in names:
            return candidate
        n += 1


def clone_spec(template: JobSpec, name: str, now: datetime) -> JobSpec:
    """The spec of a trigger clone: the template's, firing once at ``now``.

    A clone never inherits a recurring schedule (reference bug 16.1.20) nor the
    template's ``depends_on`` (the trigger is its go-ahead); it keeps ``triggers`` so
    chains of templates work (the cycle check covers ``triggers`` edges).
    """
    return attrs.evolve(template, name=name, schedule=OnceSchedule(at=now), depends_on=())


def clone_job(
    template: JobState,
    *,
    job_id: str,
    name: str,
    parent_id: str,
    now: datetime,
    parent_run: str | None = None,
) -> JobState:
    """A fresh trigger clone of ``template``, ready for the state machine's ``Created``.

    Lineage: ``parent_id`` is the job whose fire triggered it (``jobs tree`` draws it
    there) and ``created_by`` names that job and run. The clone keeps the template's owner,
    token and expiry, so it never gets more authority or a longer life than its template.
    """
    return JobState(
        id=job_id,
        spec=clone_spec(template.spec, name, now),
        owner=template.owner,
        created_by=CreatedBy(
            token_id=template.created_by.token_id,
            scope=template.created_by.scope,
            client=template.created_by.client,
            parent_job=parent_id,
            parent_run=parent_run,
        ),
        created_at=now,
        updated_at=now,
        parent_id=parent_id,
        trigger_ids=template.trigger_ids,
        expires_at=template.expires_at,
    )
