"""What the store writes stays byte-identical: the compiled wire encoders produce exactly
the converter's JSON, and sealing gives the same hashes as the chain's definition."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.model_strategies import WIRE_TYPES, event_drafts, job_states, json_values

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import (
    GENESIS_HASH,
    Event,
    EventDraft,
    EventType,
    canonical_json,
    chain_hash,
    event_of,
    hashed_fields,
    seal,
    seal_rows,
    sealed_row,
)
from gnomon.runtime.model.job import CreatedBy
from gnomon.runtime.model.json_fast import fast_encode
from gnomon.runtime.model.state import FirePhase, FireState, JobState, Transition
from gnomon.runtime.store.chain import EventMac
from gnomon.runtime.store.sql_write import iso


def reference(obj: Any) -> str:
    """``wire.to_json`` as it was: the converter, then ``json.dumps``."""
    return json.dumps(wire.unstructure(obj), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(("name", "cls", "values"), WIRE_TYPES, ids=[w[0] for w in WIRE_TYPES])
@given(data=st.data())
def test_to_json_is_the_converters_json(name: str, cls: Any, values: Any, data: Any) -> None:
    """Every wire type, random values (aware times in any offset, odd floats, unicode)."""
    value = data.draw(values)
    assert wire.to_json(value) == reference(value)
    compiled = wire._ENCODERS  # the compiled paths themselves, not to_json's fallback
    assert compiled.to_json(value) == reference(value)
    dicts = json.dumps(compiled.unstructure(value), ensure_ascii=False, separators=(",", ":"))
    assert dicts == reference(value)


@given(draft=event_drafts, seq=st.integers(min_value=1, max_value=2**40))
def test_seal_hashes_as_the_chain_defines(draft: EventDraft, seq: int) -> None:
    """``seal`` gives ``sha256(prev_hash + canonical JSON of the hashed fields)``."""
    event = seal(draft, seq, GENESIS_HASH)
    assert event.hash == chain_hash(GENESIS_HASH, event)
    assert wire.to_json(event) == reference(event)


@given(payload=st.dictionaries(st.text(max_size=5), json_values, max_size=4))
def test_odd_payload_values_keep_their_text(payload: dict[str, Any]) -> None:
    """Exponents, NaN, big integers, control and non-ASCII characters: as ``json``."""
    payload = {**payload, "e": 1e16, "small": 1e-05, "nan": float("nan"), "big": 2**70}
    payload["text"] = 'ü \u2028 \x00 "q" \\ \t'
    draft = EventDraft(
        type=EventType.JOB_UPDATED, timestamp=datetime(2026, 1, 1, tzinfo=UTC), payload=payload
    )
    event = seal(draft, 7, "ab" * 32)
    fields = {k: v for k, v in wire.unstructure(event).items() if k not in ("prev_hash", "hash")}
    expected = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(fields) == expected
    assert wire.to_json(event) == reference(event)


def test_a_known_event_keeps_its_hash() -> None:
    """A fixed event hashes to the value the previous code computed (chain compatibility
    with databases written before the encoders were compiled)."""
    draft = EventDraft(
        type=EventType.JOB_FIRED,
        timestamp=datetime(2026, 11, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        job_id="0123456789abcdef",
        name="backup",
        owner="user:alice",
        status=JobStatus.RUNNING,
        message="fire 3: slot 2026-11-01T10:00:00.000000+00:00",
        payload={"fire_time": "2026-11-01T10:00:00+00:00", "cycle": 3, "ratio": 0.1},
    )
    event = seal(draft, 42, "f" * 64)
    assert event.hash == "b782f8b593a2c546df987b7cc067ce57125d777c15bd9b4ef131f981b31f8d64"
    assert wire.to_json(event) == reference(event)


def test_naive_times_are_refused_as_before() -> None:
    """The compiled encoders refuse a naive time with the converter's error."""
    event = Event(seq=1, type=EventType.JOB_CREATED, timestamp=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="naive time"):
        wire.to_json(event)


@given(draft=event_drafts, seq=st.integers(min_value=1, max_value=2**40))
def test_an_events_row_is_the_text_it_was_hashed_from(draft: EventDraft, seq: int) -> None:
    """The row's JSON is the canonical text the hash covers, plus the two hashes; it
    reads back as the sealed event (one encoding per event, not two; keys sorted, the
    payload's too, so only the order of a payload's keys can differ)."""
    event, row = sealed_row(draft, seq, "ab" * 32)
    assert event == seal(draft, seq, "ab" * 32)
    assert row.startswith(canonical_json(hashed_fields(event))[:-1] + ",")
    read = wire.from_json(row, Event)
    assert (read.seq, read.prev_hash, read.hash) == (event.seq, event.prev_hash, event.hash)
    assert canonical_json(hashed_fields(read)) == canonical_json(hashed_fields(event))
    assert chain_hash(read.prev_hash, read) == event.hash  # the audit's check holds


def test_a_naive_event_time_is_refused_when_sealed() -> None:
    draft = EventDraft(type=EventType.JOB_CREATED, timestamp=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="naive time"):
        sealed_row(draft, 1, GENESIS_HASH)


@given(state=job_states)
def test_a_saved_again_state_reuses_its_spec_and_transitions_text(state: JobState) -> None:
    """A spec and each transition are encoded once, kept on the (frozen) object and
    spliced into every later save of the job: byte-identical to the converter's JSON,
    and the kept text is really what is written."""
    assert wire.to_json(state) == reference(state)
    assert state.spec._wire_text is not None
    assert all(t._wire_text is not None for t in state.transitions)
    later = attrs.evolve(
        state,
        message="again",
        transitions=(
            *state.transitions,
            Transition(
                at=T, from_status=JobStatus.PENDING, to_status=JobStatus.RUNNING, reason="x"
            ),
        ),
    )
    assert wire.to_json(later) == reference(later)
    assert wire.to_json(state.spec) == reference(state.spec)
    object.__setattr__(state.spec, "_wire_text", '{"kept":1}')
    assert '"spec":{"kept":1}' in wire.to_json(later)
    assert attrs.evolve(state.spec, description="new")._wire_text is None


T = datetime(2026, 11, 1, 12, tzinfo=UTC)


@given(draft=event_drafts, seq=st.integers(min_value=1, max_value=2**40))
def test_a_seals_text_is_json_dumps_of_the_hashed_fields(draft: EventDraft, seq: int) -> None:
    """The seal writes the hashed fields by one template; its text is still exactly
    ``json.dumps`` of them, keys sorted (checked against ``json`` itself, not the code)."""
    event, row = sealed_row(draft, seq, "cd" * 32)
    fields = {k: v for k, v in wire.unstructure(event).items() if k not in ("prev_hash", "hash")}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert row.startswith(text[:-1] + ',"prev_hash":')
    assert event.hash == hashlib.sha256(("cd" * 32 + text).encode()).hexdigest()


class _Name(str):
    """A str subclass (as a StrEnum member is)."""


def test_odd_values_in_a_seal_keep_their_text() -> None:
    """Values of unexpected types in a draft (a str subclass, an int subclass as seq, a
    non-dict payload) are written as ``json`` writes them."""
    draft = EventDraft(
        type=EventType.JOB_FIRED,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        name=_Name("n\u00e9"),
        owner=JobStatus.RUNNING,
        payload=[1, {"b": 2, "a": True}],  # type: ignore[arg-type]
    )
    for seq in (5, True, 2**70):
        _, row = sealed_row(draft, seq, GENESIS_HASH)
        fields = {**hashed_fields(seal(draft, 1, GENESIS_HASH)), "seq": seq}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row.startswith(text[:-1] + ",")


@given(state=job_states)
def test_odd_values_in_a_state_keep_the_converters_text(state: JobState) -> None:
    """The state's template writes simple fields inline; values of other types than
    declared (a bool or a float in an int field, an enum or an int in a str field, a
    subclass of a nested record) give the converter's text, or its error, all the same."""
    sub = attrs.make_class("SubFire", {"extra": attrs.field(default=3)}, bases=(FireState,))
    fire = sub(fire_time=T, cycle=1, phase=FirePhase.RUNNING, attempt=True)
    for changes in (
        {"cycle": True, "attempts": 1.5, "consecutive_failures": 2**70},
        {"message": JobStatus.RUNNING, "parent_id": _Name("p")},
        {"message": 5, "trigger_ids": ("a", JobStatus.PENDING)},
        {"fires": (fire,), "created_by": CreatedBy(client=_Name("c"))},
    ):
        odd = attrs.evolve(state, **changes)
        assert wire.to_json(odd) == reference(odd)


class _Float(float):
    """A float subclass: written by the JSON encoder, never by ``float.__repr__``."""


@given(state=job_states)
def test_odd_floats_in_a_spec_keep_the_converters_text(state: JobState) -> None:
    """Float fields are written inline as ``float.__repr__`` only for a finite float of
    exactly that class; NaN, infinities, ints, bools and subclasses go through the JSON
    encoder, so the spec's kept text (now by its template) is ``json.dumps``'s."""
    odd = (float("nan"), float("inf"), -float("inf"), -0.0, 1e-05, 1e16, 5, True, _Float(2.5))
    with attrs.validators.disabled():
        for value in odd:
            budget = attrs.evolve(state.spec.budget, action_timeout=value, backoff_mult=value)
            spec = attrs.evolve(state.spec, ttl=value, misfire_grace=value, budget=budget)
            odd_state = attrs.evolve(state, spec=spec)
            assert wire.to_json(odd_state) == reference(odd_state)
            assert spec._wire_text == reference(spec)


@given(value=json_values)
def test_fast_encode_is_the_encoders_text(value: Any) -> None:
    """``fast_encode(encoder)`` writes what ``encoder.encode`` writes, for each encoder
    the store uses; errors are the encoder's (a circular list, an unencodable value)."""
    encoders = (
        json.JSONEncoder(),
        json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False),
    )
    for encoder in encoders:
        assert fast_encode(encoder)(value) == encoder.encode(value)
        assert fast_encode(encoder)({"v": value, "s": "é"}) == encoder.encode(
            {"v": value, "s": "é"}
        )
    loop: list[Any] = [value]
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        fast_encode(encoders[1])(loop)
    with pytest.raises(TypeError, match="not JSON serializable"):
        fast_encode(encoders[1])({"x": object()})


@given(
    drafts=st.lists(event_drafts, min_size=1, max_size=4),
    seq=st.integers(min_value=0, max_value=2**40),
    shared=st.booleans(),
)
def test_a_units_seal_is_each_drafts_seal_in_turn(
    drafts: list[EventDraft], seq: int, shared: bool
) -> None:
    """``seal_rows`` seals a unit's drafts as ``sealed_row`` seals each in turn, its rows
    as the store wrote them one by one (a timestamp object shared by several drafts is
    written once), and its events are the plain ``event_of`` ones."""
    if shared:
        drafts = [attrs.evolve(d, timestamp=drafts[0].timestamp) for d in drafts]
    mac = EventMac(b"key")
    rows: list[tuple[Any, ...]] = []
    events = seal_rows(drafts, seq, "ab" * 32, mac, rows)
    assert len(events) == len(rows) == len(drafts)
    prev = "ab" * 32
    for n, (draft, event, row) in enumerate(zip(drafts, events, rows, strict=True), seq + 1):
        expected, text = sealed_row(draft, n, prev)
        assert type(event) is Event
        assert event == expected == event_of(draft, n, prev, expected.hash)
        stamp, digest = draft.timestamp.timestamp(), event.hash
        assert row == (n, draft.type.value, stamp, draft.job_id, text, prev, digest, mac(digest))
        prev = event.hash


def test_a_units_seal_refuses_a_naive_time_as_before() -> None:
    aware = EventDraft(type=EventType.JOB_CREATED, timestamp=T)
    naive = EventDraft(type=EventType.JOB_CREATED, timestamp=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="naive time"):
        seal_rows([aware, naive], 0, GENESIS_HASH, EventMac(b""), [])


@given(
    when=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30))])),
    whole=st.booleans(),
)
def test_a_claims_instant_is_written_to_the_microsecond(when: datetime, whole: bool) -> None:
    """A slot's key text is ``isoformat(timespec="microseconds")`` of the instant in UTC,
    whole seconds included (``sql_write.iso`` writes it by ``isoformat``)."""
    if whole:
        when = when.replace(microsecond=0)
    try:
        expected = when.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:
        return
    assert iso(when) == expected
