"""The gateway protocol: JSON-RPC 2.0 methods, their params and results (docs/protocol.md).

One table, :data:`METHODS`, names every method with its params and result types, the scope
it needs and a one-line description; the gateway structures params with the wire
converter (unknown keys refused), ``rpc.discover``, ``docs/protocol.md`` and
``docs/openrpc.json`` are generated from it, and the CLI and MCP server build the same
types. The types live beside this module, one module per family: ``protocol_jobs``,
``protocol_bulk`` (``job.create_many``), ``protocol_schedules`` (``calendar.*``,
``job.backfill``), ``protocol_events`` (``events.*``, ``audit.verify``),
``protocol_policy`` (``breaker.*``, ``policy.*``), ``protocol_inbox``, ``protocol_access``
(scopes, the caller, ``token.*``, ``agents.*``), ``protocol_stats`` (``stats.fires``) and
``protocol_system`` (``system.*``, ``config.get``, ``cluster.nodes``); the method names are
constants in ``protocol_names`` and paging limits in ``protocol_paging``.
"""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.runtime.model.exclusions import ExclusionCalendar
from gnomon.runtime.protocol_access import (
    AgentsParams,
    AgentsState,
    Caller,
    Scope,
    TokenCreated,
    TokenCreateParams,
    TokenInfo,
    TokenRevokeParams,
)
from gnomon.runtime.protocol_bulk import CreateManyParams, CreateManyResult
from gnomon.runtime.protocol_events import (
    AuditCheck,
    EventsParams,
    EventsResult,
    Subscribed,
    SubscribeParams,
    UnsubscribeParams,
)
from gnomon.runtime.protocol_inbox import AckParams, InboxEntry, InboxParams
from gnomon.runtime.protocol_jobs import (
    ClearParams,
    CreateParams,
    JobDetail,
    JobPage,
    JobsResult,
    JobView,
    ListParams,
    LogsParams,
    Preview,
    PreviewParams,
    RefParams,
    RunsPage,
    SelectParams,
    Tree,
)
from gnomon.runtime.protocol_policy import (
    BreakerInfo,
    BreakerParams,
    PolicyCheckParams,
    PolicyRule,
    PolicySetParams,
    PolicyVerdict,
)
from gnomon.runtime.protocol_schedules import (
    BackfillParams,
    BackfillResult,
    CalendarAddParams,
    CalendarList,
    CalendarNameParams,
)
from gnomon.runtime.protocol_stats import FiresParams, FireStats
from gnomon.runtime.protocol_system import (
    ClusterNodes,
    ConfigRow,
    Health,
    Hello,
    HelloParams,
    LoginTicket,
    LoginUrlParams,
    NodeInfo,
    SessionGrant,
    Stats,
)

#: Caller, ClusterNodes and NodeInfo are re-exported only for runtime/cluster/nodes.py,
#: which another branch is rewriting at the moment; once it imports them from
#: protocol_access and protocol_system, those three names go.
__all__ = ("METHODS", "Caller", "ClusterNodes", "Count", "Empty", "Method", "NodeInfo")


@attrs.frozen(kw_only=True)
class Empty:
    """No params."""


@attrs.frozen(kw_only=True)
class Count:
    count: int


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
