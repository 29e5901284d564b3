"""The wire converter: round-trips, tags, strictness, error messages and JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.model_strategies import WIRE_TYPES, job_specs, json_values

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import ACTION_TYPES, Action, NoopAction, WebhookAction
from gnomon.runtime.model.conditions import (
    CONDITION_TYPES,
    AllOf,
    Condition,
    HttpCondition,
    Not,
    TcpCondition,
)
from gnomon.runtime.model.enums import OnTimeout, Overlap, OwnerKind
from gnomon.runtime.model.events import Event, EventType
from gnomon.runtime.model.job import Budget, JobSpec, Owner, WaitSpec
from gnomon.runtime.model.schedule import SCHEDULE_TYPES, OnceSchedule, Schedule
from gnomon.runtime.model.state import JobState

T0 = datetime(2026, 4, 25, 14, 0, tzinfo=UTC)
SPEC = JobSpec(name="nightly", schedule=OnceSchedule(at=T0), action=NoopAction())


def spec_data(**changes: Any) -> dict[str, Any]:
    """The wire form of a small valid JobSpec, with some keys replaced."""
    data: dict[str, Any] = wire.unstructure(SPEC)
    data.update(changes)
    return data


def refused(data: Any, cls: Any = JobSpec) -> InvalidInput:
    """Structure ``data`` and return the InvalidInput it must raise."""
    with pytest.raises(InvalidInput) as info:
        wire.structure(data, cls)
    return info.value


def is_plain_json(value: Any) -> bool:
    """True when ``value`` is made only of dict, list, str, int, float, bool and None."""
    if isinstance(value, dict):
        return all(type(k) is str and is_plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_plain_json(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "cls", "strategy"), WIRE_TYPES, ids=[w[0] for w in WIRE_TYPES])
@given(data=st.data())
def test_structure_unstructure_round_trips(name: str, cls: Any, strategy: Any, data: Any) -> None:
    """``structure(unstructure(x), T) == x`` for every wire type, through JSON text too."""
    value = data.draw(strategy, label=name)
    plain = wire.unstructure(value)
    assert is_plain_json(plain)
    assert wire.structure(plain, cls) == value
    assert wire.from_json(wire.to_json(value), cls) == value


def test_job_state_round_trips_with_default_fields() -> None:
    """A JobState with only its required fields survives the wire."""
    state = JobState(
        id="j1",
        spec=SPEC,
        owner=Owner(kind=OwnerKind.AGENT, id="bot"),
        created_at=T0,
        updated_at=T0,
    )
    assert wire.from_json(wire.to_json(state), JobState) == state


# --- tags --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [*SCHEDULE_TYPES, *CONDITION_TYPES, *ACTION_TYPES])
def test_every_tagged_class_declares_a_tag_that_is_not_its_class_name(cls: type) -> None:
    """Tags are stable public names, never the Python class name."""
    assert cls.__name__ != cls.TAG  # type: ignore[attr-defined]


def test_tagged_union_members_carry_type_key_with_their_tag() -> None:
    """A condition tree puts each node's TAG under "type", nested ones included."""
    tree = AllOf(
        children=(HttpCondition(url="http://x"), Not(child=TcpCondition(host="h", port=1)))
    )
    data = wire.unstructure(tree)
    assert data["type"] == "and"
    assert [c["type"] for c in data["children"]] == ["http", "not"]
    assert data["children"][1]["child"]["type"] == "tcp"


def test_tagged_class_structures_with_or_without_its_type_key() -> None:
    """A concrete tagged class accepts a matching "type" key and does not require it."""
    assert wire.structure({"host": "h", "port": 1}, TcpCondition) == TcpCondition(host="h", port=1)
    data = {"type": "tcp", "host": "h", "port": 1}
    assert wire.structure(data, TcpCondition) == TcpCondition(host="h", port=1)


def test_wrong_type_key_on_a_concrete_class_is_refused() -> None:
    """A "type" that is not the class's own tag is refused, naming both."""
    err = refused({"type": "http", "host": "h", "port": 1}, TcpCondition)
    assert "'http'" in str(err)
    assert err.accepted == ("tcp",)


def test_unknown_tag_is_refused_with_the_accepted_tags() -> None:
    """An unknown condition type names the bad tag and lists the known ones."""
    err = refused({"type": "ftp", "url": "x"}, Condition)
    assert err.token == "ftp"
    assert "ftp" in str(err)
    assert {"http", "not"} <= set(err.accepted)
    assert str(err).startswith("invalid condition:")


def test_missing_tag_in_a_union_is_refused() -> None:
    """A union member without "type" is refused with the accepted tags."""
    err = refused(spec_data(action={"command": "ls"}))
    assert '"type"' in str(err)
    assert "shell" in err.accepted
    assert err.field == "action"


# --- strictness --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"i_know": "false"}, "$.i_know"),
        ({"ttl": "60"}, "$.ttl"),
        ({"ttl": True}, "$.ttl"),
        ({"name": 5}, "$.name"),
        ({"depends_on": "abc"}, "$.depends_on"),
        ({"tags": {"a": 1}}, "$.tags['a']"),
        ({"tags": ["a"]}, "$.tags"),
        ({"budget": {"max_retries": "3"}}, "$.budget.max_retries"),
        ({"budget": {"max_retries": 1.5}}, "$.budget.max_retries"),
        ({"budget": {"poll_interval": 1e400}}, "$.budget.poll_interval"),
        ({"budget": {"poll_interval": 10**400}}, "$.budget.poll_interval"),
        ({"overlap": "never"}, "$.overlap"),
        ({"budget": "fast"}, "$.budget"),
    ],
)
def test_lenient_cattrs_coercions_are_refused(changes: dict[str, Any], path: str) -> None:
    """Strings are not numbers or booleans, a string is not a list, a list not a map."""
    err = refused(spec_data(**changes))
    assert err.details[0].endswith(f"@ {path}")
    assert path in str(err)


def test_integral_float_is_accepted_for_an_int_field() -> None:
    """``3.0`` is accepted where an integer is expected (JavaScript clients send it)."""
    spec = wire.structure(spec_data(budget={"max_retries": 3.0}), JobSpec)
    assert spec.budget.max_retries == 3
    assert type(spec.budget.max_retries) is int


def test_naive_datetime_is_refused_and_offsets_are_kept() -> None:
    """Times need a UTC offset; ``Z`` and ``+02:00`` both work."""
    err = refused(spec_data(schedule={"type": "once", "at": "2026-04-25T14:00"}))
    assert err.token == "2026-04-25T14:00"
    assert "offset" in str(err)
    at = wire.structure({"type": "once", "at": "2026-04-25T12:00:00Z"}, Schedule)
    assert at == OnceSchedule(at=T0.replace(hour=12))


def test_unstructuring_a_naive_datetime_is_refused() -> None:
    """A naive time never reaches the wire (it would be ambiguous)."""
    with pytest.raises(InvalidInput):
        wire.unstructure(datetime(2026, 1, 1))


def test_enums_travel_by_value() -> None:
    """Enums unstructure to their plain string value."""
    data = wire.unstructure(
        JobSpec(
            name="a",
            schedule=OnceSchedule(at=T0),
            action=NoopAction(),
            overlap=Overlap.CANCEL_PREVIOUS,
        )
    )
    assert data["overlap"] == "cancel_previous"
    assert type(data["overlap"]) is str


def test_headers_are_lists_of_pairs() -> None:
    """``tuple[tuple[str, str], ...]`` headers are a JSON list of [name, value] lists."""
    hook = WebhookAction(url="https://x", headers=(("X-A", "1"), ("X-B", "2")))
    data = wire.unstructure(hook)
    assert data["headers"] == [["X-A", "1"], ["X-B", "2"]]
    assert wire.structure(data, Action) == hook
    err = refused({**data, "headers": [["X-A"]]}, Action)
    assert "$.headers[0]" in str(err)


def test_event_payload_passes_through() -> None:
    """``dict[str, Any]`` payloads keep any JSON value unchanged."""
    payload = {"fire_time": "2026-04-25T14:00:00+00:00", "nested": [1, {"a": None}], "f": 1.5}
    event = Event(seq=3, type=EventType.JOB_FIRED, timestamp=T0, payload=payload)
    data = wire.unstructure(event)
    assert data["payload"] == payload
    assert wire.structure(data, Event) == event


# --- errors ------------------------------------------------------------------------------


def test_unknown_key_is_refused_naming_it() -> None:
    """An unknown top-level key is refused; the message and token name it."""
    err = refused(spec_data(bogus=1))
    assert err.token == "bogus"
    assert "bogus" in str(err)
    assert "name" in err.accepted


def test_unknown_nested_key_is_refused_with_its_path() -> None:
    """An unknown key inside a nested object is reported at that object's path."""
    err = refused(spec_data(budget={"retries": 3}))
    assert err.details == ("unknown field(s) retries @ $.budget",)
    assert "max_retries" in err.accepted


def test_unknown_key_inside_a_condition_tree_is_refused() -> None:
    """Unknown keys are refused deep inside recursive unions too."""
    wait = {"condition": {"type": "not", "child": {"type": "tcp", "host": "h", "port": 1, "x": 1}}}
    err = refused(spec_data(wait=wait))
    assert err.details == ("unknown field(s) x @ $.wait.condition.child",)


def test_missing_required_field_is_reported_at_its_path() -> None:
    """A missing field reads ``required field missing @ $.path``."""
    err = refused(spec_data(schedule={"type": "cron", "tz": "UTC"}))
    assert err.details == ("required field missing @ $.schedule.expr",)
    assert err.field == "schedule.expr"


def test_every_problem_is_a_detail_and_the_message_names_the_first() -> None:
    """Several problems give several details; the message names the first and counts the rest."""
    data = spec_data(name=1, ttl="x", bogus=2)
    err = refused(data)
    assert len(err.details) == 3
    assert err.details[0] in str(err) or err.details[0].split(";")[0] in str(err)
    assert "(and 2 more)" in str(err)
    assert all(" @ $" in d for d in err.details)


def test_attrs_validator_errors_become_field_level_details() -> None:
    """A validator failure is reported at the field it guards, with its own message."""
    err = refused(spec_data(budget={"backoff_mult": 0.5}))
    assert err.details == ("'backoff_mult' must be >= 1.0: 0.5 @ $.budget.backoff_mult",)
    err = refused(spec_data(name="no spaces allowed"))
    assert err.details[0].endswith("@ $.name")
    assert "no spaces allowed" in err.details[0]


def test_cross_field_validation_is_reported_at_the_object() -> None:
    """WaitSpec's fallback rule involves two fields, so it is reported at the wait."""
    wait = {"condition": {"type": "tcp", "host": "h", "port": 1}, "on_timeout": "fallback"}
    err = refused(spec_data(wait=wait))
    assert err.details == ("on_timeout=fallback and a fallback action go together @ $.wait",)


def test_non_object_input_is_refused() -> None:
    """A list or a string where an object is expected is refused at ``$``."""
    assert refused([1, 2]).details == ("expected an object (JobSpec), got a list [1, 2] @ $",)
    assert refused("x", Condition).accepted[0] == "http"


def test_deeply_nested_input_is_refused_before_recursing() -> None:
    """Nesting beyond MAX_DEPTH is refused without a RecursionError."""
    node: dict[str, Any] = {"type": "tcp", "host": "h", "port": 1}
    for _ in range(5000):
        node = {"type": "not", "child": node}
    err = refused(node, Condition)
    assert "nested deeper" in str(err)


def test_from_json_refuses_bad_json_text() -> None:
    """Text that is not JSON is an InvalidInput naming the parse error."""
    with pytest.raises(InvalidInput, match="not valid JSON"):
        wire.from_json('{"name": ', JobSpec)


@given(json_values)
def test_random_json_given_as_a_job_spec_raises_only_invalid_input(value: Any) -> None:
    """Arbitrary JSON never crashes structuring: it is a JobSpec or an InvalidInput."""
    try:
        wire.structure(value, JobSpec)
    except InvalidInput as err:
        details = err.details
        assert details


@given(job_specs, st.data())
def test_random_field_values_raise_only_invalid_input(spec: JobSpec, data: Any) -> None:
    """Replacing any field of a valid spec by random JSON is accepted or an InvalidInput."""
    plain = wire.unstructure(spec)
    key = data.draw(st.sampled_from(sorted(plain)))
    plain[key] = data.draw(json_values)
    try:
        wire.structure(plain, JobSpec)
    except InvalidInput as err:
        details = err.details
        assert details


# --- JSON Schema -------------------------------------------------------------------------


def test_schema_of_a_tagged_union_is_one_of_with_const_tags() -> None:
    """Condition's schema is a oneOf whose members pin "type" to their tag."""
    schema = wire.json_schema(Condition)
    refs = [m["$ref"] for m in schema["oneOf"]]
    assert len(refs) == len(CONDITION_TYPES)
    http = schema["$defs"]["HttpCondition"]
    assert http["properties"]["type"] == {"const": "http"}
    assert http["required"] == ["type", "url"]
    assert http["additionalProperties"] is False
    assert schema["$defs"]["AllOf"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/Condition"
    }


def test_schema_of_job_spec_has_required_fields_and_defaults() -> None:
    """JobSpec's schema requires name, schedule and action and shows wire-form defaults."""
    schema = wire.json_schema(JobSpec)
    assert schema["type"] == "object"
    assert schema["required"] == ["name", "schedule", "action"]
    assert schema["properties"]["overlap"]["default"] == "skip"
    assert schema["properties"]["budget"]["default"] == wire.unstructure(Budget())
    assert schema["properties"]["wait"]["anyOf"][1] == {"type": "null"}
    assert json.loads(json.dumps(schema)) == schema


def validate(value: Any, schema: dict[str, Any], defs: dict[str, Any]) -> bool:
    """A tiny JSON Schema checker covering the keywords json_schema emits."""
    if "$ref" in schema:
        return validate(value, defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    checks = {
        "oneOf": lambda s: sum(validate(value, x, defs) for x in s) == 1,
        "anyOf": lambda s: any(validate(value, x, defs) for x in s),
        "const": lambda s: value == s,
        "enum": lambda s: value in s,
        "type": lambda s: _type_ok(value, s),
    }
    if not all(check(schema[key]) for key, check in checks.items() if key in schema):
        return False
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        return (
            set(schema["required"]) <= set(value)
            and set(value) <= set(props)
            and all(validate(v, props[k], defs) for k, v in value.items())
        )
    if isinstance(value, dict) and "additionalProperties" in schema:
        return all(validate(v, schema["additionalProperties"], defs) for v in value.values())
    if isinstance(value, list) and "prefixItems" in schema:
        items = schema["prefixItems"]
        return len(value) == len(items) and all(map(validate, value, items, [defs] * len(items)))
    if isinstance(value, list) and "items" in schema:
        return all(validate(v, schema["items"], defs) for v in value)
    return True


def _type_ok(value: Any, name: str) -> bool:
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if name in ("integer", "number"):
        ok = isinstance(value, int) if name == "integer" else isinstance(value, int | float)
        return ok and not isinstance(value, bool)
    return isinstance(value, kinds[name])


@pytest.mark.parametrize(("name", "cls", "strategy"), WIRE_TYPES, ids=[w[0] for w in WIRE_TYPES])
@given(data=st.data())
def test_every_wire_value_validates_against_its_schema(
    name: str, cls: Any, strategy: Any, data: Any
) -> None:
    """What unstructure emits is valid under json_schema of its type."""
    schema = wire.json_schema(cls)
    value = wire.unstructure(data.draw(strategy, label=name))
    assert validate(value, schema, schema["$defs"])


def test_schema_checker_rejects_bad_values() -> None:
    """Guard against a vacuous checker: unknown keys, wrong tags and types fail."""
    schema = wire.json_schema(JobSpec)
    good = spec_data()
    assert validate(good, schema, schema["$defs"])
    for bad in (spec_data(bogus=1), spec_data(action={"type": "nope"}), spec_data(ttl="x")):
        assert not validate(bad, schema, schema["$defs"])


def test_wait_spec_fallback_pairs_on_the_wire() -> None:
    """A WaitSpec with a fallback action round-trips with the action tagged."""
    wait = WaitSpec(
        condition=TcpCondition(host="db", port=5432),
        on_timeout=OnTimeout.FALLBACK,
        fallback=NoopAction(message="gave up"),
    )
    data = wire.unstructure(wait)
    assert data["fallback"] == {"type": "noop", "message": "gave up"}
    assert wire.structure(data, WaitSpec) == wait
