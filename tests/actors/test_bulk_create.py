"""Bulk creates (actors/bulk.py) in virtual time over the real engine and store: one
admission pass, one rate-limit charge, one store unit, per-spec results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from support.engine_world import ALICE, EPOCH, World, make_world

from gnomon.actors.admission import AdmissionConfig
from gnomon.actors.bulk import BulkCreate, SpecOutcome
from gnomon.actors.tree import EngineConfig
from gnomon.runtime.errors import Conflict, NotFound, Refused
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import JobStatus, OwnerKind
from gnomon.runtime.model.job import CreatedBy, JobSpec, Owner
from gnomon.runtime.model.schedule import IntervalSchedule, ManualSchedule, OnceSchedule
from gnomon.runtime.protocol_bulk import CreateMode
from gnomon.runtime.store import JobQuery

BOB = Owner(kind=OwnerKind.USER, id="bob")


def spec(name: str, **kw: Any) -> JobSpec:
    at = OnceSchedule(at=EPOCH + timedelta(hours=1))
    return JobSpec(
        name=name, schedule=kw.pop("schedule", at), action=kw.pop("action", NoopAction()), **kw
    )


async def world(nursery: trio.Nursery, tmp_path: Path, **limits: Any) -> World:
    config = EngineConfig(admission=AdmissionConfig(**limits)) if limits else None
    return await make_world(nursery, tmp_path, config=config)


async def many(w: World, *specs: JobSpec, **kw: Any) -> list[SpecOutcome]:
    owner = kw.pop("owner", ALICE)
    mode: CreateMode = kw.pop("mode", "create")
    request = BulkCreate(specs=specs, owner=owner, created_by=CreatedBy(), mode=mode, **kw)
    return await w.tree.engine.create_many(request)


def results(items: list[SpecOutcome]) -> list[str | None]:
    return [item.result for item in items]


async def live_names(w: World) -> list[str]:
    return sorted(s.spec.name for s in await w.store.list_jobs(JobQuery()))


async def test_mixed_specs_get_per_spec_results_and_one_store_unit(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Valid specs are created in one transaction; a clash with a live job, a duplicate
    name in the call and an unknown dependency are refused each, naming the cause."""
    w = await world(nursery, tmp_path)
    await w.create(spec("taken"))
    before = w.store.transactions
    items = await many(
        w, spec("a"), spec("taken"), spec("b"), spec("a"), spec("c", depends_on=("nope",))
    )
    assert results(items) == ["created", "refused", "created", "refused", "refused"]
    assert w.store.transactions == before + 1
    assert isinstance(items[1].error, Conflict)
    assert "already named 'taken'" in items[1].error.message
    assert isinstance(items[3].error, Conflict)
    assert "spec 3 is named 'a' like spec 0" in items[3].error.message
    assert "depends_on" in str(items[4].error)
    assert await live_names(w) == ["a", "b", "taken"]
    created = [e for e in await w.events() if e.type == "job.created"]
    assert [e.name for e in created] == ["taken", "a", "b"]


async def test_a_spec_may_name_earlier_specs_of_the_call(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """``depends_on`` and ``triggers`` resolve earlier specs of the same call to their new
    ids; a later spec cannot be named (order matters)."""
    w = await world(nursery, tmp_path)
    items = await many(
        w,
        spec("extract"),
        spec("report", schedule=ManualSchedule()),
        spec("load", depends_on=("extract",), triggers=("report",)),
        spec("early", depends_on=("late",)),
        spec("late"),
    )
    assert results(items) == ["created", "created", "created", "refused", "created"]
    load = await w.get("load")
    assert [(d.id, d.name) for d in load.dependencies] == [(items[0].state.id, "extract")]  # type: ignore[union-attr]
    assert load.trigger_ids == (items[1].state.id,)  # type: ignore[union-attr]
    assert load.status is JobStatus.BLOCKED
    assert isinstance(items[3].error, NotFound)
    assert str(items[3].error) == "depends_on: no job 'late'"


async def test_depending_on_a_recurring_spec_of_the_call_is_refused(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A dependency that never ends is refused when it is a spec of the same call too."""
    w = await world(nursery, tmp_path)
    every = IntervalSchedule(every=60, anchor=EPOCH)
    items = await many(w, spec("tick", schedule=every), spec("after", depends_on=("tick",)))
    assert results(items) == ["created", "refused"]
    assert "tick is a recurring job" in str(items[1].error)


async def test_atomic_refusal_writes_nothing(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """With ``atomic``, one refused spec leaves every other one ``skipped`` and unwritten."""
    w = await world(nursery, tmp_path)
    before = w.store.transactions
    items = await many(w, spec("a"), spec("b", depends_on=("nope",)), spec("c"), atomic=True)
    assert results(items) == ["skipped", "refused", "skipped"]
    assert w.store.transactions == before
    assert await live_names(w) == []
    assert (await many(w, spec("a"), spec("c"), atomic=True))[1].result == "created"
    applied = await many(w, spec("a"), spec("d"), spec("e", depends_on=("nope",)),
                         mode="apply", atomic=True)  # fmt: skip
    assert results(applied) == ["unchanged", "skipped", "refused"]


async def test_a_dry_run_writes_and_charges_nothing(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A dry run answers as the call would, stores nothing and leaves the rate limits
    untouched (a real call of the same size still passes)."""
    w = await world(nursery, tmp_path, owner_burst=3, owner_rps=0.001)
    await w.create(spec("old"))
    items = await many(
        w, spec("a"), spec("old", description="new"), spec("b"), mode="apply", dry_run=True
    )
    assert results(items) == ["created", "configured", "created"]
    assert items[0].state is not None
    assert items[0].state.next_fire_at == EPOCH + timedelta(hours=1)
    assert await live_names(w) == ["old"]
    real = await many(w, spec("a"), spec("b"))
    assert results(real) == ["created", "created"]


async def test_apply_leaves_equal_jobs_alone_and_updates_changed_ones(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """``apply``: an equal live job is ``unchanged`` (nothing written), a changed one is
    updated in place (same id, ``job.updated``), a new one created; an ``every`` job
    re-parsed with a later anchor is still equal and keeps its grid."""
    w = await world(nursery, tmp_path)
    tick = spec("tick", schedule=IntervalSchedule(every=300, anchor=EPOCH))
    first = await many(w, tick, spec("note"), mode="apply")
    await trio.sleep(100)
    later = attrs.evolve(tick, schedule=IntervalSchedule(every=300, anchor=w.clock.now()))
    before = w.store.transactions
    again = await many(w, later, spec("note"), mode="apply")
    assert results(again) == ["unchanged", "unchanged"]
    assert w.store.transactions == before
    changed = await many(w, later, spec("note", description="v2"), spec("new"), mode="apply")
    assert results(changed) == ["unchanged", "configured", "created"]
    note = await w.get("note")
    assert note.id == first[1].state.id
    assert note.spec.description == "v2"
    assert "job.updated" in await w.types(note.id)
    assert (await w.get("tick")).spec.schedule == tick.schedule


async def test_replace_and_apply_refuse_another_owners_job(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A live namesake of another owner is refused in ``replace`` and ``apply`` modes."""
    w = await world(nursery, tmp_path)
    await w.create(spec("theirs"), owner=BOB)
    for mode in ("replace", "apply"):
        (item,) = await many(w, spec("theirs", description="mine"), mode=mode)
        assert item.result == "refused"
        assert "belongs to user:bob" in str(item.error)


async def test_the_rate_limit_is_charged_once_per_call(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """N specs take N tokens at once: 8 of a burst of 10 pass, then 3 more are refused as a
    whole with the time until 3 tokens are back; 11 can never pass."""
    w = await world(nursery, tmp_path, owner_burst=10, owner_rps=1, global_burst=100)
    assert results(await many(w, *(spec(f"j{i}") for i in range(8)))) == ["created"] * 8
    with pytest.raises(Refused) as err:
        await many(w, *(spec(f"k{i}") for i in range(3)))
    assert (err.value.reason, err.value.retry_after) == ("rate_limited", 1.0)
    assert await live_names(w) == sorted(f"j{i}" for i in range(8))
    await trio.sleep(1)
    assert results(await many(w, *(spec(f"k{i}") for i in range(3)))) == ["created"] * 3
    await trio.sleep(60)
    with pytest.raises(Refused, match="more than the rate limit's burst of 10"):
        await many(w, *(spec(f"m{i}") for i in range(11)))


async def test_max_jobs_counts_the_batch(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """The daemon's ``max_jobs`` counts the call's new jobs as they are admitted."""
    w = await world(nursery, tmp_path, max_jobs=4)
    await w.create(spec("old"))
    items = await many(w, *(spec(f"j{i}") for i in range(5)))
    assert results(items) == ["created"] * 3 + ["refused"] * 2
    assert getattr(items[3].error, "reason", None) == "full"


async def test_a_reserved_name_is_taken_for_other_creates(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A name admitted in a call not yet stored is refused to a concurrent create."""
    w = await world(nursery, tmp_path)
    w.tree.admission.reserve("busy", "0123456789abcdef")
    with pytest.raises(Conflict, match="already named 'busy'"):
        await w.create(spec("busy"))
    (item,) = await many(w, spec("busy"))
    assert item.result == "refused"
    w.tree.admission.release("busy")
    assert (await w.create(spec("busy"))).spec.name == "busy"


NAMES = ("a", "b", "c", "d", "e", "f", "g")
deps = st.sampled_from([[], [], [], *([n] for n in NAMES), ["zz"], ["a", "b"]])
batches = st.lists(st.tuples(st.sampled_from(NAMES), deps), max_size=8)


def model(live: set[str], specs: list[tuple[str, list[str]]], max_jobs: int) -> list[str]:
    """What one create_many call must answer, spec by spec (the reference)."""
    seen: set[str] = set()
    created: list[str] = []
    out = []
    for name, deps in specs:
        duplicate = name in seen
        seen.add(name)
        ok = (
            not duplicate
            and name not in live
            and len(live) + len(created) < max_jobs
            and all(d in live or d in created for d in deps)
        )
        out.append("created" if ok else "refused")
        if ok:
            created.append(name)
    return out


@settings(max_examples=80, deadline=None)
@given(
    live=st.sets(st.sampled_from(NAMES), max_size=2),
    specs=batches,
    max_jobs=st.integers(1, 8),
)
def test_batch_admission_matches_the_reference(
    tmp_path_factory: pytest.TempPathFactory,
    live: set[str],
    specs: list[tuple[str, list[str]]],
    max_jobs: int,
) -> None:
    """For random calls (duplicate names, clashes with live jobs, references to earlier,
    later, refused and unknown specs, a full daemon) each spec's result is the reference
    model's, and the store holds exactly the live jobs and the created ones."""
    tmp = tmp_path_factory.mktemp("batch")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            w = await world(nursery, tmp, max_jobs=max(max_jobs, len(live)))
            for name in sorted(live):
                await w.create(spec(name))
            limit = max(max_jobs, len(live))
            items = await many(w, *(spec(n, depends_on=tuple(d)) for n, d in specs))
            expected = model(live, specs, limit)
            assert results(items) == expected
            made = [n for (n, _), r in zip(specs, expected, strict=True) if r == "created"]
            assert await live_names(w) == sorted([*live, *made])
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
