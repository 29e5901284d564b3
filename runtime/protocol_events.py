"""Params and results of ``events.*`` (the committed event log and live subscriptions) and
``audit.verify`` (the log checked against its anchors) (docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime

import attrs

from gnomon.runtime.model.events import Event
from gnomon.runtime.protocol_paging import page_limit


@attrs.frozen(kw_only=True)
class SubscribeParams:
    """With ``batch``, events that are ready together arrive in one frame: a JSON array
    of ``events.notify`` notifications (docs/protocol.md, "Subscriptions")."""

    types: tuple[str, ...] = ()
    job: str | None = None
    since_seq: int | None = None
    batch: bool = False


@attrs.frozen(kw_only=True)
class Subscribed:
    subscription: str


@attrs.frozen(kw_only=True)
class UnsubscribeParams:
    subscription: str


@attrs.frozen(kw_only=True)
class EventsParams:
    """Events after ``since_seq`` up to ``until_seq`` (inclusive), at or after ``since`` and
    before ``until``, of ``job`` and ``types`` (globs): the first ``limit``, or with
    ``newest`` the last ``limit`` — always oldest first."""

    since_seq: int = 0
    limit: int = page_limit(1000)
    job: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    until_seq: int | None = None
    newest: bool = False


@attrs.frozen(kw_only=True)
class EventsResult:
    """Events oldest first; ``more``: others match after the last one (ask again with
    its ``seq`` as ``since_seq``)."""

    events: tuple[Event, ...]
    last_seq: int
    more: bool = False


@attrs.frozen(kw_only=True)
class AuditCheck:
    """``audit.verify``: the event log checked against its anchors and keyed MACs."""

    ok: bool
    checked: int  # events verified
    first_seq: int  # the first event the log should hold (after pruning)
    head_seq: int  # the last committed event when the check started
    keyed_from: int  # events from this seq on carry a MAC (older ones: sha256 chain only)
    first_bad_seq: int | None = None
    problem: str = ""  # e.g. "events 1-3 deleted (at the start of the chain)"
