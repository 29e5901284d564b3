"""The protocol's method and notification names as constants (docs/protocol.md).

The method table (:data:`gnomon.runtime.protocol.METHODS`) is keyed by these strings;
the daemon's handlers, the client (``gnomon.client``), the CLI and the MCP server name
methods through them, never by literals. ``tests/unit/test_protocol_names.py`` checks
that every method of the table has its constant here and no constant is stale. Pure: no
imports beyond ``typing``.
"""

from __future__ import annotations

from typing import Final

SYSTEM_HELLO: Final = "system.hello"
SYSTEM_HEALTH: Final = "system.health"
SYSTEM_LOGIN_URL: Final = "system.login_url"
SYSTEM_SESSION: Final = "system.session"
SYSTEM_STATS: Final = "system.stats"
RPC_DISCOVER: Final = "rpc.discover"
CLUSTER_NODES: Final = "cluster.nodes"
JOB_CREATE: Final = "job.create"
JOB_CREATE_MANY: Final = "job.create_many"
JOB_PREVIEW: Final = "job.preview"
JOB_GET: Final = "job.get"
JOB_LIST: Final = "job.list"
JOB_TREE: Final = "job.tree"
JOB_LOGS: Final = "job.logs"
JOB_CANCEL: Final = "job.cancel"
JOB_PAUSE: Final = "job.pause"
JOB_RESUME: Final = "job.resume"
JOB_RUN: Final = "job.run"
JOB_CLEAR: Final = "job.clear"
EVENTS_SUBSCRIBE: Final = "events.subscribe"
EVENTS_UNSUBSCRIBE: Final = "events.unsubscribe"
EVENTS_LIST: Final = "events.list"
AUDIT_VERIFY: Final = "audit.verify"
BREAKER_LIST: Final = "breaker.list"
BREAKER_RESET: Final = "breaker.reset"
POLICY_LIST: Final = "policy.list"
POLICY_SET: Final = "policy.set"
POLICY_CHECK: Final = "policy.check"
CONFIG_GET: Final = "config.get"
INBOX_LIST: Final = "inbox.list"
INBOX_ACK: Final = "inbox.ack"
TOKEN_CREATE: Final = "token.create"
TOKEN_LIST: Final = "token.list"
TOKEN_REVOKE: Final = "token.revoke"
AGENTS_STATUS: Final = "agents.status"
AGENTS_SET: Final = "agents.set"
STATS_FIRES: Final = "stats.fires"
JOB_BACKFILL: Final = "job.backfill"
CALENDAR_ADD: Final = "calendar.add"
CALENDAR_LIST: Final = "calendar.list"
CALENDAR_REMOVE: Final = "calendar.remove"

# -- notifications ---------------------------------------------------------------------------

#: daemon → client: one committed event of a subscription
EVENTS_NOTIFY: Final = "events.notify"
#: daemon → client: the subscription fell behind; resubscribe from ``resume_from``
EVENTS_LAGGED: Final = "events.lagged"
#: client → daemon: cancel the request ``{id}``
CANCEL_REQUEST: Final = "$/cancelRequest"

NOTIFICATIONS: Final = (EVENTS_NOTIFY, EVENTS_LAGGED, CANCEL_REQUEST)
