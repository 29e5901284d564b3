"""The compiled structurers (runtime/model/wire_structure.py) against a pristine converter:
the same values, the same JSON bytes, the same errors — for random valid and broken input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.model_strategies import job_specs, job_states, json_values

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import FireState, JobState
from gnomon.runtime.model.wire_hooks import make_wire_converter

PRISTINE = make_wire_converter()  # cattrs' generated hooks only, nothing compiled
COMPILED = (JobSpec, JobState)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def slow(data: Any, cls: Any) -> Any:
    """What ``wire.structure`` did before the compiled hooks: the converter's own result,
    or its InvalidInput."""
    wire._check_depth(data)
    try:
        return PRISTINE.structure(data, cls)
    except Exception as exc:
        raise wire._invalid(exc, cls) from None


def outcome(fn: Any, data: Any, cls: Any) -> tuple[str, Any]:
    """``("ok", JSON text)`` or ``("error", every field of the InvalidInput)``."""
    try:
        value = fn(data, cls)
    except InvalidInput as err:
        return "error", (err.message, err.token, err.accepted, err.field, err.details)
    return "ok", wire.to_json(value)


def broken(plain: Any, data: Any) -> Any:
    """``plain`` with one value somewhere inside replaced by random JSON (or a key added
    or removed)."""
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                paths.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                paths.append((node, index))
                walk(child)

    walk(plain)
    if not paths:
        return data.draw(json_values)
    parent, key = data.draw(st.sampled_from(paths))
    move = data.draw(st.sampled_from(["replace", "drop", "extra"]))
    if move == "drop" and isinstance(parent, dict):
        del parent[key]
    elif move == "extra" and isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8))] = data.draw(json_values)
    else:
        parent[key] = data.draw(json_values | st.sampled_from([1.0, 2, True, -0.0, "x", None]))
    return plain


def test_the_compiled_hooks_are_the_converters_hooks() -> None:
    """``wire.structure`` of a spec or a state goes through the compiled functions (made
    by the first call)."""
    wire.structure(json.loads(wire.to_json(JobSpec(name="n", schedule=IntervalSchedule(
        every=5, anchor=T0), action=NoopAction()))), JobSpec)  # fmt: skip
    assert wire.STRUCTURERS.ready
    for cls in (JobSpec, JobState, Budget, WaitSpec, IntervalSchedule, FireState):
        hook = wire.converter.get_structure_hook(cls)
        assert hook.__qualname__ == "Structurers._hook.<locals>.structure", cls


@settings(max_examples=200)
@given(job_specs)
def test_a_valid_spec_is_built_by_the_fast_path_alone(spec: JobSpec) -> None:
    """Every valid wire spec is structured without falling back, equal to the converter's
    value and to the JSON bytes it gives."""
    plain = json.loads(wire.to_json(spec))
    fast = wire.STRUCTURERS.fast(JobSpec)(plain)
    assert fast == spec == PRISTINE.structure(plain, JobSpec)
    assert wire.to_json(fast) == wire.to_json(PRISTINE.structure(plain, JobSpec))


@given(job_states)
def test_a_valid_state_is_built_by_the_fast_path_alone(state: JobState) -> None:
    """Job states (the store's rows) take the fast path too, with the same result."""
    plain = json.loads(wire.to_json(state))
    fast = wire.STRUCTURERS.fast(JobState)(plain)
    assert wire.to_json(fast) == wire.to_json(PRISTINE.structure(plain, JobState))
    assert fast == state


@settings(max_examples=200)
@pytest.mark.parametrize("cls", COMPILED, ids=lambda c: c.__name__)
@given(data=st.data())
def test_broken_input_gives_the_converters_result_or_error(cls: Any, data: Any) -> None:
    """A value broken anywhere (wrong type, missing or unknown key, integral float, -0.0)
    gives exactly what the converter alone gives: the same value bytes or the same error."""
    value = data.draw(job_specs if cls is JobSpec else job_states)
    plain = broken(json.loads(wire.to_json(value)), data)
    assert outcome(wire.structure, plain, cls) == outcome(slow, plain, cls)


@given(json_values)
def test_random_json_gives_the_converters_error(value: Any) -> None:
    """Arbitrary JSON given as a spec fails (or not) exactly as with the converter alone."""
    assert outcome(wire.structure, value, JobSpec) == outcome(slow, value, JobSpec)


def test_integral_floats_and_odd_numbers_keep_the_converters_meaning() -> None:
    """``3.0`` for an int field, ``1`` for a float field and ``-0.0`` keep their meaning."""
    spec = JobSpec(name="n", schedule=IntervalSchedule(every=5, anchor=T0), action=NoopAction())
    plain = json.loads(wire.to_json(spec))
    plain["budget"]["max_retries"] = 3.0
    plain["budget"]["backoff_initial"] = 1
    plain["ttl"] = -0.0
    assert outcome(wire.structure, plain, JobSpec) == outcome(slow, plain, JobSpec)
    assert wire.structure(plain, JobSpec).budget.max_retries == 3
    assert '"ttl":-0.0' in wire.to_json(wire.structure(plain, JobSpec))


def nested_too_deep(data: Any, limit: int) -> bool:
    """The depth rule as first written: some value sits ``limit`` levels down."""
    level: list[Any] = [data]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


@given(st.recursive(json_values, lambda inner: st.lists(inner, max_size=2), max_leaves=20),
       st.integers(0, 12))  # fmt: skip
def test_the_depth_check_keeps_its_rule(data: Any, limit: int) -> None:
    """The faster depth check refuses exactly the inputs the level-by-level one did."""
    try:
        wire._check_depth(data, limit)
        refused = False
    except InvalidInput:
        refused = True
    assert refused == nested_too_deep(data, limit)
