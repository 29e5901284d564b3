"""Params and results of the daemon-wide methods: ``system.*`` (hello, health, dashboard
logins, stats), ``config.get`` and ``cluster.nodes`` (docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime

import attrs

from gnomon.runtime.protocol_access import Scope

PROTOCOL_VERSION = 1


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
    fenced: bool = False  # a cluster node that fenced itself (docs/cluster.md)


@attrs.frozen(kw_only=True)
class Stats:
    jobs: dict[str, int]
    events: int
    connections: int
    uptime: float
    breakers_open: int


@attrs.frozen(kw_only=True)
class ConfigRow:
    key: str
    value: str
    source: str
    doc: str


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
