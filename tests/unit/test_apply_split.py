"""``cli/apply_split``: apply's specs cut into ``job.create_many`` calls — every spec in
exactly one call, each call's frame under the daemon's limit, a spec sent after the specs
of the file it names, linked specs kept in one call when they fit, file order otherwise;
``--atomic`` over several calls and a spec larger than a frame are refused (too_large)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.cli.apply_split import (
    ENVELOPE,
    budget_of,
    linked_groups,
    references,
    refuse_atomic,
    send_order,
    split,
)
from gnomon.runtime.errors import Refused


def spec(i: int, pad: int, depends: list[int], triggers: list[int]) -> dict[str, Any]:
    """A spec-shaped mapping: a name, references by name (and one to a job outside the
    list), and a description that gives it its size."""
    return {
        "name": f"j{i}",
        "description": "é" * pad,  # not ASCII: json.dumps escapes it to six bytes
        "depends_on": [f"j{t}" for t in depends],
        "triggers": [*(f"j{t}" for t in triggers), "live-elsewhere"],
    }


@st.composite
def spec_lists(draw: st.DrawFn, *, acyclic: bool) -> list[dict[str, Any]]:
    """Up to 40 specs naming each other; with ``acyclic``, only along a random ranking
    (forward and backward in the list alike), else anyhow (cycles, self references)."""
    n = draw(st.integers(0, 40))
    rank = draw(st.permutations(range(n)))
    out = []
    for i in range(n):
        allowed = [j for j in range(n) if not acyclic or rank[j] < rank[i]]
        refs = st.lists(st.sampled_from(allowed), max_size=3) if allowed else st.just([])
        out.append(spec(i, draw(st.integers(0, 120)), draw(refs), draw(refs)))
    return out


def frame_bytes(specs: list[dict[str, Any]]) -> int:
    """The request as gnomon.client writes it (the largest id the CLI could reach)."""
    params = {"specs": specs, "mode": "apply", "dry_run": False, "atomic": False}
    frame = {"jsonrpc": "2.0", "id": 10**12, "method": "job.create_many", "params": params}
    return len(json.dumps(frame).encode())


def check_plan(specs: list[dict[str, Any]], limit: int, max_specs: int) -> list[int]:
    """Split; assert every spec once and each frame within ``limit``; the send order."""
    plan = split(specs, budget_of(limit), max_specs=max_specs)
    sent = [i for call in plan.calls for i in call]
    assert sorted(sent) == list(range(len(specs)))
    for call in plan.calls:
        assert 0 < len(call) <= max_specs
        assert frame_bytes([specs[i] for i in call]) <= limit
    return sent


limits = st.integers(ENVELOPE + 1000, ENVELOPE + 6000)


@given(specs=spec_lists(acyclic=True), limit=limits, max_specs=st.integers(1, 12))
def test_every_spec_once_within_the_frame_and_after_its_targets(
    specs: list[dict[str, Any]], limit: int, max_specs: int
) -> None:
    """Without cycles, each spec is sent after every spec of the list it names (in the
    same call or a later one), each once, every frame within the limit."""
    sent = check_plan(specs, limit, max_specs)
    position = {index: at for at, index in enumerate(sent)}
    for i, targets in enumerate(references(specs)):
        assert all(position[t] < position[i] for t in targets)


@given(specs=spec_lists(acyclic=False), limit=limits, max_specs=st.integers(1, 12))
def test_cycles_and_self_references_still_send_every_spec_once(
    specs: list[dict[str, Any]], limit: int, max_specs: int
) -> None:
    """Names that go round in a circle (the daemon refuses them) do not lose or repeat a
    spec, and no frame outgrows the limit."""
    check_plan(specs, limit, max_specs)


@given(specs=spec_lists(acyclic=False), limit=limits)
def test_linked_specs_share_a_call_when_they_fit(specs: list[dict[str, Any]], limit: int) -> None:
    """Specs linked by names go in one call whenever together they fit in one."""
    budget = budget_of(limit)
    plan = split(specs, budget)
    call_of = {i: n for n, call in enumerate(plan.calls) for i in call}
    refs = references(specs)
    for group in linked_groups(refs, send_order(refs)):
        if plan.call_bytes(group) <= budget:
            assert len({call_of[i] for i in group}) == 1


@given(pads=st.lists(st.integers(0, 120), max_size=60), limit=limits)
def test_without_references_the_file_order_is_kept(pads: list[int], limit: int) -> None:
    """Specs that name no other spec of the file go in file order, calls filled in turn."""
    specs = [spec(i, pad, [], []) for i, pad in enumerate(pads)]
    assert check_plan(specs, limit, 10_000) == list(range(len(specs)))


def test_a_forward_reference_is_sent_after_its_target() -> None:
    """A spec naming one further down the file goes after it; the rest keep file order."""
    specs = [spec(0, 0, [2], []), spec(1, 0, [], []), spec(2, 0, [], [])]
    assert send_order(references(specs)) == [1, 2, 0]


def test_a_spec_larger_than_a_frame_is_refused_naming_it() -> None:
    """One spec over the budget cannot be sent in any call: too_large names the job."""
    with pytest.raises(Refused, match=r"job 'j1' takes \d+ bytes") as caught:
        split([spec(0, 0, [], []), spec(1, 5000, [], [])], budget_of(ENVELOPE + 2000))
    assert caught.value.reason == "too_large"
    assert caught.value.exit_code == 4


def test_atomic_is_refused_when_the_specs_need_several_calls() -> None:
    """--atomic over one call passes; over several: too_large naming the bytes and the
    limit."""
    specs = [spec(i, 100, [], []) for i in range(30)]
    refuse_atomic(split(specs, budget_of(1 << 20)), 1 << 20)
    limit = ENVELOPE + 2000
    plan = split(specs, budget_of(limit))
    assert len(plan.calls) > 1
    with pytest.raises(Refused, match=rf"30 jobs take {sum(plan.sizes)} bytes.*\({limit} bytes"):
        refuse_atomic(plan, limit)
