"""The gateway protocol: JSON-RPC 2.0 methods, their params and results (docs/protocol.md).

One table, :data:`METHODS`, names every method with its params and result types and a
one-line description; the gateway structures params with the wire converter (unknown
keys refused), ``rpc.discover`` and ``docs/protocol.md`` are generated from it, and the
CLI and MCP server build the same types. The views follow docs/protocol.md's stable keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs

from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.exclusions import ExclusionCalendar
from gnomon.runtime.model.job import CreatedBy, JobSpec
from gnomon.runtime.model.tokens import TokenLimits
from gnomon.runtime.protocol_bulk import CreateManyParams, CreateManyResult
from gnomon.runtime.protocol_schedules import (
    BackfillParams,
    BackfillResult,
    CalendarAddParams,
    CalendarList,
    CalendarNameParams,
)
from gnomon.runtime.protocol_stats import FiresParams, FireStats

PROTOCOL_VERSION = 1
Scope = Literal["read", "write", "admin"]


# -- views ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class JobView:
    """A job as clients see it (``schedule``/``action``/``wait`` as DSL text).

    ``hold`` says what keeps ``next_fire_at`` from happening as shown (``paused``,
    ``blocked by smoke``, ``waiting for COND``); ``None`` when it is on time.
    """

    id: str
    name: str
    status: JobStatus
    owner: str
    created_by: CreatedBy
    tags: dict[str, str]
    description: str
    schedule: str
    action: str
    wait: str | None
    depends_on: tuple[str, ...]
    triggers: tuple[str, ...]
    next_fire_at: datetime | None
    last_outcome: Outcome | None
    attempts: int
    cycle: int
    message: str
    reason: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    parent_id: str | None = None
    expires_at: datetime | None = None
    spec: JobSpec
    hold: str | None = None


@attrs.frozen(kw_only=True)
class RunView:
    """One execution (docs/protocol.md run keys)."""

    run_id: str
    job_id: str
    cycle: int
    attempt: int
    fire_time: datetime
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome | None
    exit_code: int | None
    output: str
    error: str = ""
    fallback: bool = False


@attrs.frozen(kw_only=True)
class TransitionView:
    at: datetime
    from_status: JobStatus
    to_status: JobStatus
    reason: str


@attrs.frozen(kw_only=True)
class JobDetail:
    """``job.get``: the job, its last runs, its transitions and its next fires."""

    job: JobView
    runs: tuple[RunView, ...]
    transitions: tuple[TransitionView, ...]
    next_fires: tuple[datetime, ...]


@attrs.frozen(kw_only=True)
class JobsResult:
    """A bulk operation's jobs: ``count`` of them, of which ``jobs`` lists as many as fit
    in one frame."""

    jobs: tuple[JobView, ...]
    count: int


# -- params --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Empty:
    """No params."""


@attrs.frozen(kw_only=True)
class HelloParams:
    token: str | None = None
    client: str | None = None
    client_version: str | None = None
    protocol_version: int = PROTOCOL_VERSION


@attrs.frozen(kw_only=True)
class Hello:
    """Who the daemon is and who the caller is; ``max_message_bytes`` is the largest
    request frame the daemon reads (``gateway.max_message_bytes``): send more in several
    calls."""

    server_version: str
    protocol_version: int
    session_id: str
    scope: Scope
    agent: bool
    max_message_bytes: int


@attrs.frozen(kw_only=True)
class LoginUrlParams:
    """``system.login_url``: the browser session's scope and how long the ticket lives."""

    scope: Scope = "write"
    ttl: float = 60.0


@attrs.frozen(kw_only=True)
class LoginTicket:
    """A one-time dashboard login ticket; ``path`` is the page address carrying it."""

    ticket: str
    path: str
    expires_at: datetime


@attrs.frozen(kw_only=True)
class SessionGrant:
    """A signed session token standing for the caller (browsers reconnect with it)."""

    session: str
    scope: Scope
    expires_at: datetime


@attrs.frozen(kw_only=True)
class Health:
    ok: bool
    store_writable: bool
    tree_healthy: bool
    last_fire_lag: float | None
    uptime: float
    reason: str | None = None  # why ok is false (the store's fault first)


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


@attrs.frozen(kw_only=True)
class Stats:
    jobs: dict[str, int]
    events: int
    connections: int
    uptime: float
    breakers_open: int


@attrs.frozen(kw_only=True)
class CreateParams:
    spec: JobSpec
    replace: bool = False


@attrs.frozen(kw_only=True)
class PreviewParams:
    spec: JobSpec
    after: datetime | None = None
    count: int = attrs.field(
        default=5, validator=[attrs.validators.ge(1), attrs.validators.le(1000)]
    )


@attrs.frozen(kw_only=True)
class Preview:
    job: JobSpec
    next_fires: tuple[datetime, ...]


@attrs.frozen(kw_only=True)
class RefParams:
    ref: str


#: Lists answer in pages: at most ``limit`` items, and never more than fit in one frame of
#: ``gateway.max_message_bytes`` (at most 1 MiB); ``next_cursor`` says where to go on.
PAGE_LIMIT = 500
MAX_PAGE_LIMIT = 5000
MAX_REPLY_BYTES = 1 << 20  # clients read at least this much in one frame (the CLI: 16 MiB)
ENVELOPE_BYTES = 512  # room for the JSON-RPC envelope and a page's other fields


def reply_budget(max_message_bytes: int) -> int:
    """The bytes the items of one answer may take: ``gateway.max_message_bytes`` but at
    most :data:`MAX_REPLY_BYTES`, less the envelope."""
    return max(1, min(max_message_bytes, MAX_REPLY_BYTES) - ENVELOPE_BYTES)


def _page_limit(default: int) -> Any:
    return attrs.field(
        default=default, validator=[attrs.validators.ge(1), attrs.validators.le(MAX_PAGE_LIMIT)]
    )


@attrs.frozen(kw_only=True)
class ListParams:
    """Jobs matching every filter given, at most ``limit`` (1–5000) in one page;
    ``cursor`` is a previous page's ``next_cursor``. ``search``: text found, ignoring
    case, in the name, the id or a tag's ``key=value``. ``with_total``: also count every
    match (the page's ``total``)."""

    statuses: tuple[JobStatus, ...] = ()
    all: bool = False
    tags: tuple[str, ...] = ()
    owner: str | None = None
    name: str | None = None
    limit: int = _page_limit(PAGE_LIMIT)
    cursor: str | None = None
    search: str | None = None
    with_total: bool = False


@attrs.frozen(kw_only=True)
class JobPage:
    """One page of jobs, oldest first (creation order, so paging never repeats or skips
    a job); ``next_cursor`` (pass it as ``cursor``) is ``null`` on the last page;
    ``total``: how many jobs match in all (``null`` unless ``with_total`` was asked)."""

    jobs: tuple[JobView, ...]
    next_cursor: str | None = None
    total: int | None = None


@attrs.frozen(kw_only=True)
class LogsParams:
    """The newest ``limit`` (1–5000) runs (of ``cycle``), older than ``cursor`` when
    given."""

    ref: str
    cycle: int | None = None
    limit: int = _page_limit(100)
    cursor: str | None = None


@attrs.frozen(kw_only=True)
class RunsPage:
    """Runs, newest last; ``next_cursor`` (pass it as ``cursor``) leads to older ones and
    is ``null`` when there are none."""

    runs: tuple[RunView, ...]
    next_cursor: str | None = None


@attrs.frozen(kw_only=True)
class SelectParams:
    """Jobs by reference, by tag (``k`` or ``k=v``, all must match) or by status."""

    refs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    statuses: tuple[JobStatus, ...] = ()
    reason: str = ""


@attrs.frozen(kw_only=True)
class ClearParams:
    statuses: tuple[JobStatus, ...] = ()
    older_than: float | None = None
    name: str | None = None
    yes: bool = False


@attrs.frozen(kw_only=True)
class TreeNode:
    id: str
    name: str
    status: JobStatus
    parent: str | None
    children: tuple[str, ...]
    kind: Literal["root", "depends_on", "trigger"]


@attrs.frozen(kw_only=True)
class Tree:
    nodes: tuple[TreeNode, ...]


@attrs.frozen(kw_only=True)
class SubscribeParams:
    types: tuple[str, ...] = ()
    job: str | None = None
    since_seq: int | None = None


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
    limit: int = _page_limit(1000)
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
class BreakerInfo:
    key: str
    status: str
    recent_failures: int
    reopens_at: datetime | None


@attrs.frozen(kw_only=True)
class BreakerParams:
    key: str


@attrs.frozen(kw_only=True)
class PolicyRule:
    kind: Literal["allow", "deny", "builtin"]
    pattern: str


@attrs.frozen(kw_only=True)
class PolicySetParams:
    action: Literal["allow", "deny", "remove"]
    pattern: str


@attrs.frozen(kw_only=True)
class PolicyCheckParams:
    command: str
    i_know: bool = False


@attrs.frozen(kw_only=True)
class PolicyVerdict:
    command: str
    decision: Literal["allow", "ask", "deny"]
    reason: str


@attrs.frozen(kw_only=True)
class ConfigRow:
    key: str
    value: str
    source: str
    doc: str


@attrs.frozen(kw_only=True)
class InboxParams:
    unread_only: bool = False


@attrs.frozen(kw_only=True)
class InboxEntry:
    id: int
    job_id: str | None
    created_at: datetime
    read: bool
    item: dict[str, Any]


@attrs.frozen(kw_only=True)
class AckParams:
    ids: tuple[int, ...]


@attrs.frozen(kw_only=True)
class Count:
    count: int


@attrs.frozen(kw_only=True)
class TokenCreateParams:
    """A new token; an agent token's scope is read or write, its limits default to
    docs/agents.md's (no shell, a 7 d TTL)."""

    name: str
    scope: Scope = "write"
    agent: bool = False
    limits: TokenLimits | None = None


@attrs.frozen(kw_only=True)
class TokenInfo:
    """A token without its secret."""

    id: str
    name: str
    scope: Scope
    agent: bool
    owner: str
    limits: TokenLimits
    created_at: datetime
    revoked_at: datetime | None = None


@attrs.frozen(kw_only=True)
class TokenCreated:
    """The new token's secret (shown this once) and its record."""

    token: str
    info: TokenInfo


@attrs.frozen(kw_only=True)
class TokenRevokeParams:
    """Tokens to revoke by id (or unique id prefix or name), or every agent token."""

    ids: tuple[str, ...] = ()
    all_agents: bool = False


@attrs.frozen(kw_only=True)
class AgentsParams:
    enabled: bool


@attrs.frozen(kw_only=True)
class AgentsState:
    """The kill switch; ``changed`` counts the agent jobs paused or resumed by this call."""

    enabled: bool
    changed: int = 0
    agent_jobs: int = 0


@attrs.frozen(kw_only=True)
class NodeInfo:
    """One cluster member (a daemon boot) as the database sees it (docs/cluster.md).

    ``lease_age`` is the time since its last renewal and ``lease_left`` the time until its
    lease runs out (negative: expired), both by the database clock; ``this`` marks the
    daemon that answered.
    """

    node: str
    boot_id: str
    host: str
    pid: int
    url: str = ""
    started_at: datetime
    lease_age: float
    lease_left: float
    partitions: int
    live: bool
    this: bool = False


@attrs.frozen(kw_only=True)
class ClusterNodes:
    """The cluster's members; ``clustered`` is false (and the rest empty) on a daemon that
    runs alone. ``partitions`` is the database's fixed partition count."""

    clustered: bool
    partitions: int = 0
    nodes: tuple[NodeInfo, ...] = ()


# -- the method table ----------------------------------------------------------------------


@attrs.frozen
class Method:
    """One JSON-RPC method: its params and result types, the scope it needs, its doc."""

    name: str
    params: type
    result: Any
    scope: Scope
    doc: str


def _m(name: str, params: type, result: Any, scope: Scope, doc: str) -> Method:
    return Method(name, params, result, scope, doc)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _m("system.hello", HelloParams, Hello, "read", "authenticate (browsers) and identify"),
        _m("system.health", Empty, Health, "read", "store, supervisor tree and fire lag"),
        _m(
            "system.login_url",
            LoginUrlParams,
            LoginTicket,
            "admin",
            "a one-time dashboard login ticket (gnomon dashboard)",
        ),
        _m(
            "system.session",
            Empty,
            SessionGrant,
            "read",
            "a session token for a dashboard login (ticket or session callers only)",
        ),
        _m("system.stats", Empty, Stats, "read", "counts of jobs, events, connections"),
        _m(
            "stats.fires",
            FiresParams,
            FireStats,
            "read",
            "fires, fire lag and run outcomes per minute over the last hour",
        ),
        _m("rpc.discover", Empty, dict[str, Any], "read", "every method with its JSON schemas"),
        _m("job.create", CreateParams, JobView, "write", "admit a job (replace: update in place)"),
        _m(
            "job.create_many",
            CreateManyParams,
            CreateManyResult,
            "write",
            "admit many jobs in one pass and one store write (apply: idempotent by name)",
        ),
        _m("job.preview", PreviewParams, Preview, "read", "validate a spec, list its next fires"),
        _m("job.get", RefParams, JobDetail, "read", "a job, its runs, transitions, next fires"),
        _m("job.list", ListParams, JobPage, "read", "jobs, one page at a time"),
        _m("job.tree", Empty, Tree, "read", "the DAG and trigger lineage"),
        _m("job.logs", LogsParams, RunsPage, "read", "run outputs, newest last, paged"),
        _m("job.cancel", SelectParams, JobsResult, "write", "cancel jobs, killing their runs"),
        _m("job.pause", SelectParams, JobsResult, "write", "pause jobs (any live status)"),
        _m("job.resume", SelectParams, JobsResult, "write", "resume paused jobs"),
        _m("job.run", RefParams, JobView, "write", "fire now, outside the schedule"),
        _m("job.clear", ClearParams, JobsResult, "write", "delete finished records (yes: really)"),
        _m(
            "job.backfill",
            BackfillParams,
            BackfillResult,
            "write",
            "fire a job's unclaimed past slots in a range, each claimed once",
        ),
        _m(
            "calendar.add",
            CalendarAddParams,
            ExclusionCalendar,
            "write",
            "add an exclusion calendar",
        ),
        _m("calendar.list", Empty, CalendarList, "read", "the exclusion calendars"),
        _m("calendar.remove", CalendarNameParams, Count, "write", "remove an exclusion calendar"),
        _m(
            "events.subscribe",
            SubscribeParams,
            Subscribed,
            "read",
            "stream events.notify (history from since_seq first)",
        ),
        _m("events.unsubscribe", UnsubscribeParams, Count, "read", "end a subscription"),
        _m("events.list", EventsParams, EventsResult, "read", "committed events, oldest first"),
        _m(
            "audit.verify",
            Empty,
            AuditCheck,
            "admin",
            "check the event log against its anchors and keyed MACs",
        ),
        _m("breaker.list", Empty, tuple[BreakerInfo, ...], "read", "breakers with state"),
        _m("breaker.reset", BreakerParams, BreakerInfo, "admin", "close a breaker"),
        _m("policy.list", Empty, tuple[PolicyRule, ...], "read", "shell policy rules"),
        _m("policy.set", PolicySetParams, tuple[PolicyRule, ...], "admin", "add or remove a rule"),
        _m("policy.check", PolicyCheckParams, PolicyVerdict, "read", "classify a command"),
        _m("config.get", Empty, tuple[ConfigRow, ...], "read", "effective config and sources"),
        _m(
            "inbox.list",
            InboxParams,
            tuple[InboxEntry, ...],
            "read",
            "results addressed to the caller, unread first",
        ),
        _m("inbox.ack", AckParams, Count, "read", "mark inbox entries read"),
        _m("token.create", TokenCreateParams, TokenCreated, "admin", "a new token (shown once)"),
        _m("token.list", Empty, tuple[TokenInfo, ...], "admin", "every token, without secrets"),
        _m("token.revoke", TokenRevokeParams, tuple[TokenInfo, ...], "admin", "revoke tokens"),
        _m("agents.status", Empty, AgentsState, "read", "the agents kill switch"),
        _m(
            "cluster.nodes",
            Empty,
            ClusterNodes,
            "read",
            "cluster members with lease age and partitions (docs/cluster.md)",
        ),
        _m(
            "agents.set",
            AgentsParams,
            AgentsState,
            "admin",
            "switch agents off (pause their jobs, refuse their calls) or on",
        ),
    )
}
SCOPE_RANK = {"read": 0, "write": 1, "admin": 2}
#: How a caller authenticated: the token itself, a dashboard login ticket, a session
#: token, or a job credential (the derived credential a ``slash_cmd`` run gets).
Via = Literal["token", "login", "session", "job"]


def lower_scope(a: Scope, b: Scope) -> Scope:
    """The narrower of two scopes."""
    return a if SCOPE_RANK[a] <= SCOPE_RANK[b] else b


@attrs.frozen(kw_only=True)
class Caller:
    """Who is calling: resolved from the credential by the gateway, passed to every method.

    ``token_id`` is always the *token* the credential stands for (``admin`` for the home's
    admin token): a session or job credential carries its parent token's id, owner, agent
    flag and limits, and ``scope`` is never broader than that token's.
    """

    token_id: str
    scope: Scope
    owner: str
    agent: bool = False
    client: str | None = None
    client_version: str | None = None
    parent_job: str | None = None  # the job whose run made this call (its slash command)
    parent_run: str | None = None
    via: Via = "token"

    def may(self, needed: Scope) -> bool:
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[needed]

    def narrowed(self, scope: Scope, via: Via) -> Caller:
        """This caller reached through a credential of ``scope`` (never broader)."""
        return attrs.evolve(self, scope=lower_scope(self.scope, scope), via=via)
