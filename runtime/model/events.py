"""Events: the audit trail, the live feed and the metrics source (docs/protocol.md).

Producers build an :class:`EventDraft`; the store seals it into an :class:`Event` with a
gap-free ``seq`` and the hash chain ``hash = sha256(prev_hash + canonical JSON of the
rest)`` in the same transaction as the state change it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.json_fast import fast_encode

GENESIS_HASH = "0" * 64


class EventType(StrEnum):
    """Every event type gnomon emits."""

    JOB_CREATED = "job.created"
    JOB_UPDATED = "job.updated"
    JOB_FIRED = "job.fired"
    JOB_WAIT_STARTED = "job.wait_started"
    JOB_WAIT_TICK = "job.wait_tick"
    JOB_WAIT_SATISFIED = "job.wait_satisfied"
    JOB_TIMED_OUT = "job.timed_out"
    JOB_RUNNING = "job.running"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_RETRY_QUEUED = "job.retry_queued"
    JOB_CANCELLED = "job.cancelled"
    JOB_PAUSED = "job.paused"
    JOB_RESUMED = "job.resumed"
    JOB_DEPENDENCY_RESOLVED = "job.dependency_resolved"
    JOB_DEPENDENCY_FAILED = "job.dependency_failed"
    JOB_TRIGGERED = "job.triggered"
    JOB_SKIPPED = "job.skipped"
    JOB_EXPIRED = "job.expired"
    RUN_ORPHANED = "run.orphaned"
    RUN_INTERRUPTED = "run.interrupted"
    BREAKER_OPENED = "breaker.opened"
    BREAKER_HALF_OPEN = "breaker.half_open"
    BREAKER_CLOSED = "breaker.closed"
    DAEMON_STARTED = "daemon.started"
    DAEMON_STOPPED = "daemon.stopped"
    ACTOR_CRASHED = "actor.crashed"
    ACTOR_RESTARTED = "actor.restarted"


@attrs.frozen(kw_only=True)
class EventDraft:
    """An event before the store gives it a ``seq`` and a hash."""

    type: EventType
    timestamp: datetime
    job_id: str | None = None
    name: str | None = None
    owner: str | None = None
    status: JobStatus | None = None
    outcome: Outcome | None = None
    message: str = ""
    payload: dict[str, Any] = attrs.field(factory=dict)

    def with_payload(self, payload: dict[str, Any]) -> EventDraft:
        """``attrs.evolve(self, payload=payload)`` without its per-call field walk (a
        fire's hot path enriches every event it writes)."""
        return EventDraft(
            type=self.type,
            timestamp=self.timestamp,
            job_id=self.job_id,
            name=self.name,
            owner=self.owner,
            status=self.status,
            outcome=self.outcome,
            message=self.message,
            payload=payload,
        )


@attrs.frozen(kw_only=True)
class Event:
    """A committed event."""

    seq: int
    type: EventType
    timestamp: datetime
    job_id: str | None = None
    name: str | None = None
    owner: str | None = None
    status: JobStatus | None = None
    outcome: Outcome | None = None
    message: str = ""
    payload: dict[str, Any] = attrs.field(factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""


def hashed_fields(event: Event) -> dict[str, Any]:
    """The fields covered by ``hash``: everything but ``hash`` itself and ``prev_hash``."""
    return _hashed(event, event.seq)


def _hashed(event: Event | EventDraft, seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": event.type._value_,
        "timestamp": event.timestamp.isoformat(),
        "job_id": event.job_id,
        "name": event.name,
        "owner": event.owner,
        "status": None if event.status is None else event.status._value_,
        "outcome": None if event.outcome is None else event.outcome._value_,
        "message": event.message,
        "payload": event.payload,
    }


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_canonical = fast_encode(_CANONICAL)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the form that is hashed."""
    return _canonical(value)


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(fields)).encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, event: Event) -> str:
    """``sha256(prev_hash + canonical JSON of the hashed fields)`` as hex."""
    return _digest(prev_hash, hashed_fields(event))


def seal(draft: EventDraft, seq: int, prev_hash: str) -> Event:
    """Give ``draft`` its ``seq`` and link it to ``prev_hash``.

    Raises:
        TypeError: the payload holds a value JSON cannot encode.
    """
    return sealed_row(draft, seq, prev_hash)[0]


def sealed_row(draft: EventDraft, seq: int, prev_hash: str) -> tuple[Event, str]:
    """:func:`seal`, and the event's JSON for its row: the canonical text just hashed
    with ``prev_hash`` and ``hash`` added — one encoding per event, not two. Its keys are
    sorted (the payload's too) rather than in field order; reading it back gives the
    same :class:`Event` (``from_json``).

    Raises:
        TypeError: the payload holds a value JSON cannot encode.
        InvalidInput: the timestamp is naive (as ``wire.to_json`` refuses it).
    """
    ts = draft.timestamp
    if ts.utcoffset() is None:
        raise InvalidInput(f"naive time {ts.isoformat()} cannot go on the wire")
    text = _canonical_text(draft, seq, ts.isoformat())
    digest = _sha256((prev_hash + text).encode("utf-8")).hexdigest()
    row = f'{text[:-1]},{_PREV_KEY}{_Q(prev_hash)},{_HASH_KEY}"{digest}"}}'
    return _sealed_event(draft, seq, prev_hash, digest), row


def seal_rows(
    drafts: Iterable[EventDraft],
    seq: int,
    prev_hash: str,
    mac: Callable[[str], bytes],
    rows: list[tuple[Any, ...]],
) -> tuple[Event, ...]:
    """Seal ``drafts`` in order after the chain's head ``seq``/``prev_hash`` (a unit's
    events, each as :func:`sealed_row` seals it) and append each one's ``events`` row to
    ``rows``: ``(seq, type, ts, job_id, JSON, prev_hash, hash, mac(hash))``. The new head
    is the last event returned. The same events and texts as :func:`sealed_row`'s, one
    loop for the unit.

    The events of a unit mostly share their timestamp object: its text and POSIX time
    are worked out once per object, not once per event.

    Raises:
        TypeError: a payload holds a value JSON cannot encode.
        InvalidInput: a timestamp is naive (as ``wire.to_json`` refuses it).
        Either leaves the rows of the events sealed before it in ``rows`` (the caller's
        transaction is rolled back whole).
    """
    sealed = []
    when: datetime | None = None
    iso, posix = "", 0.0
    for d in drafts:
        ts = d.timestamp
        if ts is not when:
            if ts.utcoffset() is None:
                raise InvalidInput(f"naive time {ts.isoformat()} cannot go on the wire")
            iso, posix, when = ts.isoformat(), ts.timestamp(), ts
        seq += 1
        text = _canonical_text(d, seq, iso)
        digest = _sha256((prev_hash + text).encode("utf-8")).hexdigest()
        row = f'{text[:-1]},{_PREV_KEY}{_Q(prev_hash)},{_HASH_KEY}"{digest}"}}'
        sealed.append(_sealed_event(d, seq, prev_hash, digest))
        rows.append((seq, d.type._value_, posix, d.job_id, row, prev_hash, digest, mac(digest)))
        prev_hash = digest
    return tuple(sealed)


_sha256 = hashlib.sha256
_PREV_KEY, _HASH_KEY = '"prev_hash":', '"hash":'
#: The canonical text of the hashed fields, keys sorted (:func:`_canonical_text`).
_HASHED_TEMPLATE = (
    '{"job_id":%s,"message":%s,"name":%s,"outcome":%s,"owner":%s,"payload":%s,"seq":%s,'
    '"status":%s,"timestamp":"%s","type":%s}'
)
_Q = encode_basestring
_INT = int.__repr__


def _canonical_text(draft: EventDraft, seq: int, iso: str) -> str:
    """``canonical_json(_hashed(draft, seq))``, written by one template: the strings,
    enums and ``seq`` inline, only the payload by the encoder (sorted keys); ``iso`` is
    ``draft.timestamp.isoformat()``. A value of an unexpected type goes through the
    encoder, so the text is the same either way."""
    d = draft
    try:
        payload = d.payload
        return _HASHED_TEMPLATE % (
            "null" if d.job_id is None else _Q(d.job_id),
            _Q(d.message),
            "null" if d.name is None else _Q(d.name),
            "null" if d.outcome is None else _Q(d.outcome._value_),
            "null" if d.owner is None else _Q(d.owner),
            "{}" if payload.__class__ is dict and not payload else _canonical(payload),
            _INT(seq) if seq.__class__ is int else _canonical(seq),
            "null" if d.status is None else _Q(d.status._value_),
            iso,  # digits, signs and colons: no escaping
            _Q(d.type._value_),
        )
    except (TypeError, AttributeError):
        return _canonical(_hashed(d, seq))


def event_of(draft: EventDraft, seq: int, prev_hash: str = GENESIS_HASH, digest: str = "") -> Event:
    """``draft`` as an event at ``seq`` (sealed when given its chain link and hash)."""
    return Event(
        seq=seq,
        type=draft.type,
        timestamp=draft.timestamp,
        job_id=draft.job_id,
        name=draft.name,
        owner=draft.owner,
        status=draft.status,
        outcome=draft.outcome,
        message=draft.message,
        payload=draft.payload,
        prev_hash=prev_hash,
        hash=digest,
    )


def _event_setters() -> tuple[Callable[[Event, Any], None], ...] | None:
    """The slot setters of :class:`Event`'s fields in :data:`_EVENT_FIELDS` order, or
    ``None`` when its ``__init__`` does more than set them (a validator, a converter, a
    post-init hook, fields that differ): then events are built by :func:`event_of`."""
    fields = attrs.fields(Event)
    if tuple(f.name for f in fields) != _EVENT_FIELDS or hasattr(Event, "__attrs_post_init__"):
        return None
    if any(f.validator or f.converter or not f.init for f in fields):
        return None
    slots = [vars(Event).get(name) for name in _EVENT_FIELDS]
    if not all(type(s).__name__ == "member_descriptor" for s in slots):
        return None
    return tuple(s.__set__ for s in slots)  # type: ignore[union-attr]


_EVENT_FIELDS = (
    "seq",
    "type",
    "timestamp",
    "job_id",
    "name",
    "owner",
    "status",
    "outcome",
    "message",
    "payload",
    "prev_hash",
    "hash",
)


def _event_builder() -> Callable[[EventDraft, int, str, str], Event]:
    """``event_of`` for a sealed event, with its slots set directly rather than through
    the frozen class's keyword ``__init__`` (half the cost), when that ``__init__`` does
    nothing else (:func:`_event_setters`); else :func:`event_of` itself."""
    setters = _event_setters()
    if setters is None:
        return event_of
    s_seq, s_type, s_ts, s_job, s_name, s_owner = setters[:6]
    s_status, s_outcome, s_msg, s_pl, s_prev, s_hash = setters[6:]
    new = object.__new__

    def build(draft: EventDraft, seq: int, prev_hash: str, digest: str) -> Event:
        e: Event = new(Event)
        s_seq(e, seq)
        s_type(e, draft.type)
        s_ts(e, draft.timestamp)
        s_job(e, draft.job_id)
        s_name(e, draft.name)
        s_owner(e, draft.owner)
        s_status(e, draft.status)
        s_outcome(e, draft.outcome)
        s_msg(e, draft.message)
        s_pl(e, draft.payload)
        s_prev(e, prev_hash)
        s_hash(e, digest)
        return e

    return build


#: ``event_of(draft, seq, prev_hash, digest)``, faster (:func:`_event_builder`).
_sealed_event = _event_builder()


@attrs.frozen(kw_only=True)
class ChainCheck:
    """The verdict of :func:`verify_chain`: ``ok``, or the first bad ``seq`` and why."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(events: Iterable[Event], *, anchor: tuple[int, str] | None = None) -> ChainCheck:
    """Check that ``events`` (ascending) form an unbroken hash chain.

    Any edited row (hash mismatch), removed row (a gap in ``seq``), or swapped or
    reordered rows (``seq`` is hashed; links break) fails, naming the first bad ``seq``.
    ``anchor`` is ``(seq, hash)`` of the last event pruned before the first one given
    (default: the chain starts at seq 1 from the genesis hash).
    """
    expect_seq, expect_prev = (anchor[0] + 1, anchor[1]) if anchor else (1, GENESIS_HASH)
    checked = 0
    for event in events:
        if event.seq != expect_seq:
            why = f"expected seq {expect_seq}, found {event.seq} (a row is missing or moved)"
            return ChainCheck(ok=False, checked=checked, first_bad_seq=expect_seq, reason=why)
        if event.prev_hash != expect_prev:
            why = "prev_hash does not link to the previous event"
            return ChainCheck(ok=False, checked=checked, first_bad_seq=event.seq, reason=why)
        if chain_hash(event.prev_hash, event) != event.hash:
            why = "hash does not match the event's content (edited)"
            return ChainCheck(ok=False, checked=checked, first_bad_seq=event.seq, reason=why)
        checked += 1
        expect_seq, expect_prev = event.seq + 1, event.hash
    return ChainCheck(ok=True, checked=checked)
