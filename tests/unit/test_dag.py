"""The DAG helpers: reference resolution, cycles, trigger rules, propagation, clones."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.actors.core.dag import (
    JobRef,
    Node,
    Readiness,
    Verdict,
    check_acyclic,
    clone_job,
    clone_name,
    clone_spec,
    evaluate,
    find_cycle,
    propagate,
    resolve_refs,
    should_trigger,
)
from gnomon.runtime.errors import Conflict, InvalidInput, NotFound
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import JobStatus, OwnerKind, TriggerRule, TriggersOn
from gnomon.runtime.model.job import CreatedBy, JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule, OnceSchedule
from gnomon.runtime.model.state import Dependency, JobState

C, F, T, X, S = (
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.TIMED_OUT,
    JobStatus.CANCELLED,
    JobStatus.SKIPPED,
)
JOBS = [
    JobRef("a1b2c3d4e5", "build"),
    JobRef("a1b2ffff00", "test"),
    JobRef("99887766aa", "old", live=False),
    JobRef("deadbeef00", "a1b2c3d4e5x"),
]


def deps(*statuses: JobStatus | None) -> list[Dependency]:
    return [Dependency(id=f"d{i}", name=f"d{i}", status=s) for i, s in enumerate(statuses)]


# -- references -------------------------------------------------------------------------


def test_refs_resolve_by_name_id_and_prefix_in_order_without_duplicates() -> None:
    """A live name, a full id and a unique prefix all resolve; duplicates collapse."""
    got = resolve_refs(["test", "a1b2c3d4e5", "9988", "build"], JOBS, field="depends_on")
    assert got == ("a1b2ffff00", "a1b2c3d4e5", "99887766aa")


def test_finished_jobs_resolve_by_id_but_not_by_name() -> None:
    """Names only identify live jobs; a finished job is still reachable by id."""
    assert resolve_refs(["99887766aa"], JOBS, field="depends_on") == ("99887766aa",)
    with pytest.raises(NotFound, match="depends_on reference 'old' matches no job"):
        resolve_refs(["old"], JOBS, field="depends_on")


def test_ambiguous_prefix_is_refused_naming_the_candidates() -> None:
    """A prefix of two ids is refused with InvalidInput naming the ref and both ids."""
    with pytest.raises(InvalidInput, match=r"'a1b2' is ambiguous.*a1b2c3d4e5, a1b2ffff00") as e:
        resolve_refs(["a1b2"], JOBS, field="triggers")
    assert (e.value.token, e.value.field) == ("a1b2", "triggers")
    assert e.value.exit_code == 2


def test_name_that_is_also_an_id_prefix_of_another_job_is_ambiguous() -> None:
    """A ref that names one live job and prefixes another's id is refused, not guessed."""
    jobs = [JobRef("abcd1234", "x"), JobRef("ffff0000", "abcd")]
    with pytest.raises(InvalidInput, match="'abcd' is ambiguous"):
        resolve_refs(["abcd"], jobs, field="depends_on")


def test_short_prefixes_and_unknown_refs_are_not_found() -> None:
    """Prefixes under four characters never match; unknown refs raise NotFound."""
    with pytest.raises(NotFound, match="'a1b' matches no job"):
        resolve_refs(["a1b"], JOBS, field="depends_on")
    with pytest.raises(NotFound, match="'nope'") as e:
        resolve_refs(["nope"], JOBS, field="depends_on")
    assert e.value.hint == "gnomon jobs list --all shows ids and names"


# -- cycles -----------------------------------------------------------------------------


def test_bug_16_1_11_diamond_is_not_a_cycle() -> None:
    """A diamond (d → b, c → a) and a shared ancestor are legal (reference bug 16.1.11)."""
    diamond = {"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []}
    assert find_cycle(diamond) is None
    shared = {"a": ["b", "d"], "b": ["d"]}
    assert find_cycle(shared) is None
    check_acyclic(diamond, {})


def test_cycle_is_found_and_named() -> None:
    """A real cycle is reported as a closed path and refused with Conflict by name."""
    edges = {"a": ["b"], "b": ["c"], "c": ["a"], "x": ["a"]}
    cycle = find_cycle(edges)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    with pytest.raises(Conflict, match="dependency cycle: alpha → beta → gamma → alpha"):
        check_acyclic(edges, {"a": "alpha", "b": "beta", "c": "gamma"})


def test_self_loop_is_a_cycle() -> None:
    """A job depending on itself is a cycle of one."""
    assert find_cycle({"a": ["a"]}) == ("a", "a")


def test_deep_chain_does_not_hit_the_recursion_limit() -> None:
    """The DFS is iterative: a 5000-long chain is checked without recursion errors."""
    chain = {str(i): [str(i + 1)] for i in range(5000)}
    assert find_cycle(chain) is None
    chain["5000"] = ["0"]
    cycle = find_cycle(chain)
    assert cycle is not None
    assert len(cycle) == 5002


@settings(max_examples=150)
@given(st.dictionaries(st.integers(0, 7), st.lists(st.integers(0, 7), max_size=4), max_size=8))
def test_find_cycle_agrees_with_topological_sort(raw: dict[int, list[int]]) -> None:
    """find_cycle returns a real cycle exactly when Kahn's algorithm cannot order the graph."""
    edges = {str(k): [str(v) for v in vs] for k, vs in raw.items()}
    nodes = set(edges) | {v for vs in edges.values() for v in vs}
    indeg = dict.fromkeys(nodes, 0)
    for vs in edges.values():
        for v in set(vs):
            indeg[v] += 1
    ready = [n for n, d in indeg.items() if d == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for v in set(edges.get(n, ())):
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    cycle = find_cycle(edges)
    assert (cycle is not None) == (seen < len(nodes))
    if cycle is not None:
        assert all(b in edges[a] for a, b in itertools.pairwise(cycle))


# -- trigger rules ----------------------------------------------------------------------


def test_all_success_waits_then_fails_on_the_first_bad_end() -> None:
    """all_success: blocked until all complete; any other end fails with the contract message."""
    assert evaluate(TriggerRule.ALL_SUCCESS, deps(C, None)).readiness is Readiness.BLOCKED
    assert evaluate(TriggerRule.ALL_SUCCESS, deps(C, C)) == Verdict(Readiness.READY)
    assert evaluate(TriggerRule.ALL_SUCCESS, deps(None, T)) == Verdict(
        Readiness.FAILED, "dependency failed: d1 ended timed_out"
    )


def test_all_done_accepts_any_end() -> None:
    """all_done: ready once every dependency ended, however."""
    assert evaluate(TriggerRule.ALL_DONE, deps(F, None)).readiness is Readiness.BLOCKED
    assert evaluate(TriggerRule.ALL_DONE, deps(F, X, S)).readiness is Readiness.READY


def test_one_success_is_ready_at_the_first_completion() -> None:
    """one_success: ready at one completion; failed when all ended without one."""
    assert evaluate(TriggerRule.ONE_SUCCESS, deps(None, C)).readiness is Readiness.READY
    assert evaluate(TriggerRule.ONE_SUCCESS, deps(F, None)).readiness is Readiness.BLOCKED
    verdict = evaluate(TriggerRule.ONE_SUCCESS, deps(F, X))
    assert verdict.readiness is Readiness.FAILED
    assert (
        verdict.message == "dependency failed: none completed (d0 ended failed, d1 ended cancelled)"
    )


def test_one_failed_is_ready_at_the_first_failure_and_skipped_otherwise() -> None:
    """one_failed: ready at a failure, timeout or cancel; skipped when nothing failed."""
    assert evaluate(TriggerRule.ONE_FAILED, deps(None, X)).readiness is Readiness.READY
    assert evaluate(TriggerRule.ONE_FAILED, deps(C, None)).readiness is Readiness.BLOCKED
    assert evaluate(TriggerRule.ONE_FAILED, deps(C, S)).readiness is Readiness.SKIPPED


def test_none_failed_accepts_skips_but_not_failures() -> None:
    """none_failed: completed and skipped are fine; a failure fails the job."""
    assert evaluate(TriggerRule.NONE_FAILED, deps(C, S)).readiness is Readiness.READY
    assert evaluate(TriggerRule.NONE_FAILED, deps(S, None)).readiness is Readiness.BLOCKED
    assert evaluate(TriggerRule.NONE_FAILED, deps(None, F)) == Verdict(
        Readiness.FAILED, "dependency failed: d1 ended failed"
    )


def test_no_dependencies_is_ready_under_every_rule() -> None:
    """Without dependencies every rule is ready."""
    assert {evaluate(r, []).readiness for r in TriggerRule} == {Readiness.READY}


# -- propagation ------------------------------------------------------------------------


def test_bug_16_1_3_failure_propagates_transitively() -> None:
    """a fails → b (all_success) fails → c fails, with each message naming its own parent."""
    nodes = {
        "a": Node(id="a", name="a", status=JobStatus.RUNNING),
        "b": Node(id="b", name="b", deps=("a",)),
        "c": Node(id="c", name="c", deps=("b",)),
        "d": Node(id="d", name="d", deps=("c",), rule=TriggerRule.ALL_DONE),
    }
    out = propagate(nodes, "a", JobStatus.FAILED)
    assert out["b"] == Verdict(Readiness.FAILED, "dependency failed: a ended failed")
    assert out["c"] == Verdict(Readiness.FAILED, "dependency failed: b ended failed")
    assert out["d"] == Verdict(Readiness.READY)


def test_propagation_through_a_diamond_reaches_the_join_once() -> None:
    """A failure at the top of a diamond fails both branches and the join."""
    nodes = {
        "top": Node(id="top", name="top", status=JobStatus.RUNNING),
        "l": Node(id="l", name="l", deps=("top",)),
        "r": Node(id="r", name="r", deps=("top",), rule=TriggerRule.ONE_FAILED),
        "join": Node(id="join", name="join", deps=("l", "r")),
    }
    out = propagate(nodes, "top", JobStatus.CANCELLED)
    assert out["l"].readiness is Readiness.FAILED
    assert out["r"].readiness is Readiness.READY
    assert out["join"] == Verdict(Readiness.FAILED, "dependency failed: l ended failed")


def test_success_readies_dependents_but_does_not_run_them() -> None:
    """A completion readies its dependents; their own dependents stay blocked."""
    nodes = {
        "a": Node(id="a", name="a", status=JobStatus.RUNNING),
        "b": Node(id="b", name="b", deps=("a",)),
        "c": Node(id="c", name="c", deps=("b",)),
    }
    assert propagate(nodes, "a", JobStatus.COMPLETED) == {"b": Verdict(Readiness.READY)}


# -- triggers ---------------------------------------------------------------------------


def test_triggers_on_success_failure_done() -> None:
    """success: completed; failure: failed or timed out; done: either; cancel: never."""
    table = {on: {s for s in (C, F, T, X, S) if should_trigger(on, s)} for on in TriggersOn}
    assert table == {
        TriggersOn.SUCCESS: {C},
        TriggersOn.FAILURE: {F, T},
        TriggersOn.DONE: {C, F, T},
    }


def test_bug_16_1_20_clone_names_never_collide() -> None:
    """Clone names count up past every taken <template>.t<n> (reference used nanos % 10000)."""
    assert clone_name("deploy", []) == "deploy.t1"
    taken = {"deploy.t1", "deploy.t7", "deploy.tx", "other.t9", "deploy"}
    assert clone_name("deploy", taken) == "deploy.t8"
    names: set[str] = set()
    for _ in range(50):
        names.add(clone_name("deploy", names))
    assert len(names) == 50


def test_clone_name_stays_within_128_characters() -> None:
    """A long template name is shortened so the clone name is still valid."""
    name = clone_name("x" * 128, [])
    assert len(name) == 128
    assert name.endswith(".t1")


def test_bug_16_1_20_clone_of_recurring_template_fires_once() -> None:
    """A clone fires once at now, drops depends_on, and keeps triggers for chains."""
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    template = JobSpec(
        name="report",
        schedule=IntervalSchedule(every=60.0, anchor=now),
        action=NoopAction(),
        depends_on=("x",),
        triggers=("notify",),
    )
    clone = clone_spec(template, "report.t1", now)
    assert clone.schedule == OnceSchedule(at=now)
    assert clone.name == "report.t1"
    assert clone.depends_on == ()
    assert clone.triggers == ("notify",)


def test_bug_16_1_20_clone_carries_parent_lineage() -> None:
    """A clone names its parent job and run, keeps the template's owner, and fires once."""
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    spec = JobSpec(
        name="notify",
        schedule=IntervalSchedule(every=60.0, anchor=now),
        action=NoopAction(),
        triggers=("x",),
    )
    template = JobState(
        id="TPL",
        spec=spec,
        owner=Owner(kind=OwnerKind.AGENT, id="bot"),
        created_by=CreatedBy(token_id="tok1"),
        created_at=now,
        updated_at=now,
        trigger_ids=("X",),
    )
    clone = clone_job(
        template, job_id="C1", name="notify.t1", parent_id="P", now=now, parent_run="P.3.1"
    )
    assert (clone.id, clone.parent_id, clone.spec.name) == ("C1", "P", "notify.t1")
    assert clone.created_by == CreatedBy(token_id="tok1", parent_job="P", parent_run="P.3.1")
    assert clone.owner == template.owner
    assert clone.spec.schedule == OnceSchedule(at=now)
    assert clone.trigger_ids == ("X",)
    assert clone.status is JobStatus.PENDING
