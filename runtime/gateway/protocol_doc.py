"""``docs/protocol.md``, generated from :data:`~gnomon.runtime.protocol.METHODS` and the
types the server uses; regenerate with::

    python -m gnomon.runtime.gateway.protocol_doc > docs/protocol.md

``tests/test_protocol_doc.py`` fails when the file is stale, and the example session
(:data:`EXAMPLE`) is replayed against a real daemon by ``tests/gateway``.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from datetime import datetime
from typing import Any

import attrs

from gnomon.runtime import errors
from gnomon.runtime.errors import (
    ActorCrashed,
    AskTimeout,
    Conflict,
    NotFound,
    Refused,
    ShuttingDown,
    StoreUnavailable,
    Unauthorized,
)
from gnomon.runtime.gateway import rpc
from gnomon.runtime.model import wire
from gnomon.runtime.model.events import Event
from gnomon.runtime.protocol import METHODS
from gnomon.runtime.protocol_access import SCOPE_RANK
from gnomon.runtime.protocol_system import PROTOCOL_VERSION

REGENERATE = "python -m gnomon.runtime.gateway.protocol_doc > docs/protocol.md"
ANY = "…"  # in EXAMPLE answers: a value that differs from run to run

# (code, name, meaning); app codes are the error classes' (runtime/errors.py RPC_ERRORS)
ERROR_CODES: tuple[tuple[int, str, str], ...] = (
    (rpc.PARSE_ERROR, "parse error", "the frame is not JSON (or nests too deeply)"),
    (rpc.INVALID_REQUEST, "invalid request", "not a JSON-RPC 2.0 request, a binary frame, "
     f"an empty batch or one over {rpc.MAX_BATCH} calls"),
    (rpc.METHOD_NOT_FOUND, "method not found", "unknown method (`rpc.discover` lists them)"),
    (rpc.INVALID_PARAMS, "invalid params", "params do not fit the method's type, or a value "
     "is invalid; `data` names the field"),
    (rpc.INTERNAL, "internal error", "a bug in gnomon: please report it"),
    (NotFound.rpc_code, "not found", "no such job, run, breaker or subscription"),
    (Conflict.rpc_code, "conflict",
     "the operation does not fit the object's state (e.g. a live name)"),
    (Unauthorized.rpc_code, "unauthorized",
     "no token, an unknown token, or a scope below the method's"),
    (Refused.rpc_code, "refused",
     "policy, rate limit or quota (`data.reason`, `data.retry_after`)"),
    (AskTimeout.rpc_code, "timeout", "an actor or the request deadline did not answer in time"),
    (ActorCrashed.rpc_code, "actor crashed",
     "the actor serving the request crashed (it is restarted)"),
    (ShuttingDown.rpc_code, "shutting down", "the daemon is stopping"),
    (StoreUnavailable.rpc_code, "store unavailable",
     "the disk is full, read-only or failing, or the database is corrupt; the message "
     "starts with the kind (`disk full: …`) and `/healthz` says why"),
    (rpc.CANCELLED, "request cancelled", "the client sent `$/cancelRequest` for this id"),
)  # fmt: skip
DATA_FIELDS = (
    ("kind", "the gnomon error class (`InvalidInput`, `NotFound`, …)"),
    ("hint", "what to do next, when there is something to do"),
    ("field", "-32602: the offending field"),
    ("token", "-32602: the offending value or path"),
    ("accepted", "-32602: the accepted forms"),
    ("details", "-32602: every problem, one `description @ $.path` line each"),
    ("reason", "-32004: `policy`, `rate_limited`, `full`, …"),
    ("retry_after", "-32004: seconds until a retry may succeed"),
)

Exchange = tuple[Any, Any]  # (frame sent, message received), None for "nothing"
EXAMPLE: tuple[Exchange, ...] = (
    (
        {"jsonrpc": "2.0", "id": 1, "method": "system.hello",
         "params": {"token": "TOKEN", "client": "example"}},
        {"jsonrpc": "2.0", "id": 1, "result": {"server_version": ANY, "protocol_version": 1,
         "session_id": ANY, "scope": "admin", "agent": False, "max_message_bytes": ANY}},
    ),
    (
        {"jsonrpc": "2.0", "id": 2, "method": "policy.check",
         "params": {"command": "rm -rf /"}},
        {"jsonrpc": "2.0", "id": 2, "result": {"command": "rm -rf /", "decision": "ask",
         "reason": ANY}},
    ),
    (
        {"jsonrpc": "2.0", "id": 3, "method": "job.get", "params": {"ref": "nightly"}},
        {"jsonrpc": "2.0", "id": 3, "error": {"code": -32001, "message": "no job 'nightly'",
         "data": {"kind": "NotFound", "hint": ANY}}},
    ),
    (
        {"jsonrpc": "2.0", "id": 4, "method": "job.list", "params": {"sttuses": []}},
        {"jsonrpc": "2.0", "id": 4, "error": {"code": -32602, "message": ANY,
         "data": {"kind": "InvalidInput", "token": "sttuses",
                  "accepted": ["statuses", "all", "tags", "owner", "name", "limit", "cursor",
                               "search", "with_total"],
                  "field": None,
                  "details": ["unknown field(s) sttuses @ $"]}}},
    ),
    (
        [{"jsonrpc": "2.0", "id": 5, "method": "events.subscribe",
          "params": {"types": ["daemon.started"], "since_seq": 0}},
         {"jsonrpc": "2.0", "method": "system.health"}],
        [{"jsonrpc": "2.0", "id": 5, "result": {"subscription": ANY}}],
    ),
    (
        None,
        {"jsonrpc": "2.0", "method": "events.notify",
         "params": {"subscription": ANY, "seq": 1, "event": ANY}},
    ),
    (
        {"jsonrpc": "2.0", "id": 6, "method": "$/cancelRequest", "params": {"id": 99}},
        {"jsonrpc": "2.0", "id": 6, "result": None},
    ),
)  # fmt: skip


# -- type names ----------------------------------------------------------------------------


def _anchor(cls: type) -> str:
    return f"[`{cls.__name__}`](#{cls.__name__.lower()})"


def type_name(tp: Any) -> str:
    """A readable name for an annotation, linking attrs classes to their section."""
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        return simple[tp]
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any"
    if tp is datetime:
        return "datetime (ISO-8601)"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " \\| ".join(f'`"{m.value}"`' for m in tp)
    if attrs.has(tp):
        return _anchor(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(type_name(a) for a in args)
    if origin is tuple:
        return f"array of {type_name(args[0])}"
    if origin is dict:
        return f"object of {type_name(args[1])}"
    raise TypeError(f"no wire name for {tp!r}")


def _classes_in(tp: Any) -> list[type]:
    if attrs.has(tp):
        return [tp]
    return [c for a in typing.get_args(tp) for c in _classes_in(a)]


def reachable(roots: list[Any]) -> list[type]:
    """Every attrs class reachable from ``roots`` through fields, sorted by name."""
    seen: dict[str, type] = {}
    pending = [c for r in roots for c in _classes_in(r)]
    while pending:
        cls = pending.pop()
        if cls.__name__ in seen:
            continue
        seen[cls.__name__] = cls
        attrs.resolve_types(cls)
        pending += [c for f in attrs.fields(cls) for c in _classes_in(f.type)]
    return [seen[n] for n in sorted(seen)]


def _default(field: Any) -> str:
    if field.default is attrs.NOTHING:
        return "required"
    value = field.default
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        value = value.factory()
    return f"`{json.dumps(wire.unstructure(value), ensure_ascii=False)}`"


def fields_table(cls: type) -> list[str]:
    """A markdown table of ``cls``'s wire fields (with its union tag, if any)."""
    attrs.resolve_types(cls)
    rows = ["| field | type | default |", "|---|---|---|"]
    tag = getattr(cls, "TAG", None)
    if isinstance(tag, str):
        rows.append(f'| `type` | `"{tag}"` | required (the union tag) |')
    rows += [
        f"| `{f.name}` | {type_name(f.type)} | {_default(f)} |" for f in attrs.fields(cls) if f.init
    ]
    return rows if len(rows) > 2 else ["No fields: send `{}` (or omit `params`)."]


# -- sections ------------------------------------------------------------------------------


def _doc(cls: type) -> str:
    text = (cls.__doc__ or "").strip()
    return "" if text.startswith(cls.__name__ + "(") else " ".join(text.replace("``", "`").split())


def transport() -> list[str]:
    return [
        "## Transport and authentication",
        "",
        "- One JSON-RPC 2.0 object (or batch array) per WebSocket **text** frame at `/ws`, on",
        "  the daemon's one port (`/`, `/metrics`, `/healthz` share it). Binary frames are",
        "  answered with -32600. A frame over `gateway.max_message_bytes` (default 1 MiB)",
        "  is answered with -32600 (`data`: `size`, `limit`) under the request's `id` when",
        "  it is among the frame's first 4 KiB (else `id: null`: the frame is not parsed",
        "  whole; `system.hello` names the limit); one over four times that",
        "  closes the connection with WebSocket code 1009 (message too big) unread.",
        "- Authentication: `Authorization: Bearer TOKEN` on the upgrade (CLI, agents), or",
        '  `system.hello {"token": …}` as the first call (browsers). A bad bearer token is',
        "  refused at the upgrade with HTTP 401. Without a token, every method but",
        "  `system.hello` answers -32003, and a connection that has not authenticated within",
        "  `gateway.auth_timeout` (default 5 s) is closed with WebSocket code 1008. Such",
        "  connections may hold a quarter of `gateway.max_connections`; beyond that, and",
        "  beyond `gateway.max_connections` itself, the upgrade gets HTTP 503.",
        "- `Host` must name the daemon (its bound address, loopback names when bound to",
        "  loopback, `gateway.allowed_hosts`), else HTTP 403; `Origin` must be absent (CLI,",
        "  agents) or the daemon's own origin, else HTTP 403.",
        "- Scopes: a token has one of "
        + ", ".join(f"`{s}`" for s in SCOPE_RANK)
        + " (each includes the ones before it);",
        "  a method needing more answers -32003.",
        "- Credentials derived from a token — dashboard login tickets (`glt_…`), session",
        "  tokens (`gds1.…`), the job credentials of slash commands (`gjc1.…`) — stand for",
        "  that token: its owner, agent flag and limits, at most its scope. Every call",
        "  checks the token again: once it is revoked, each of them answers -32003.",
        "  `system.session` answers only a caller that logged in with a ticket or a",
        "  session (-32003 for a token: it reconnects with its token). docs/security.md.",
        "- Requests on one connection run concurrently; answers carry the request's `id`.",
        "  At most `gateway.max_inflight` (default 64) of them run or wait to be sent; a",
        "  client that does not read its answers is then not read either (TCP backpressure).",
        "- Lists answer in pages that fit one frame (at most 1 MiB): `job.list` and",
        "  `job.logs` return `next_cursor` (pass it back as `cursor`; `null` on the last",
        "  page), `events.list` returns `more` (continue from the last `seq`), and bulk",
        "  results list as many jobs as fit while `count` counts them all.",
        f"- Batches (up to {rpc.MAX_BATCH} calls) run concurrently and are answered with one",
        "  array in request order; notifications get no entry, and a batch of only",
        "  notifications gets no answer.",
        '- Cancellation: the notification `$/cancelRequest {"id": ID}` ends request `ID`,',
        "  which answers -32800 if it was still running. Sent as a request, it is answered",
        "  with a `null` result.",
        f"- Protocol version: {PROTOCOL_VERSION} (`system.hello` returns it).",
        "",
    ]


def methods_table() -> list[str]:
    rows = ["## Methods", "", "| method | scope | params | result | description |"]
    rows.append("|---|---|---|---|---|")
    for m in METHODS.values():
        rows.append(
            f"| [`{m.name}`](#{m.name.replace('.', '')}) | {m.scope} | {type_name(m.params)} "
            f"| {type_name(m.result)} | {m.doc} |"
        )
    rows.append("| `$/cancelRequest` | read | `{id}` | none (notification) | cancel a request |")
    return [*rows, ""]


def method_sections() -> list[str]:
    out: list[str] = []
    for m in METHODS.values():
        out += [f"### {m.name}", "", f"{m.doc[0].upper()}{m.doc[1:]}. Scope: `{m.scope}`."]
        out += ["", f"Params {_anchor(m.params)}:", "", *fields_table(m.params), ""]
        out += [f"Result: {type_name(m.result)}.", ""]
    return out


def notifications() -> list[str]:
    return [
        "## Notifications",
        "",
        "`events.subscribe {types?, job?, since_seq?, batch?}` answers `{subscription}`; with",
        "`since_seq` the committed history after that seq is replayed first, then live",
        "events follow with no gap and no duplicate. Each event arrives as",
        "",
        "```text",
        '{"jsonrpc": "2.0", "method": "events.notify",',
        ' "params": {"subscription": "sub-…", "seq": 42, "event": {…}}}',
        "```",
        "",
        f"where `event` is an {_anchor(Event)}. A client too slow to drain its queue gets",
        "one `events.lagged` instead of unbounded buffering, and that subscription ends:",
        "",
        "```text",
        '{"jsonrpc": "2.0", "method": "events.lagged",',
        ' "params": {"subscription": "sub-…", "resume_from": 41}}',
        "```",
        "",
        "Re-subscribe with `since_seq = resume_from` to miss nothing. Subscriptions end with",
        "their connection or with `events.unsubscribe`.",
        "",
        "With `batch: true` the events that are ready together (a replayed page, a commit's",
        "events, what queued while the connection was busy) arrive in one frame, up to 256",
        "of them: a JSON array of the same `events.notify` notifications, in order (the",
        "shape of a JSON-RPC batch). An event still arrives as a frame of its own when it is",
        "the only one ready, and `events.lagged` always does. A busy subscriber then costs",
        "the daemon one WebSocket message per batch instead of one per event (a storm",
        "watched by many dashboards: docs/performance.md). gnomon's client library and the",
        "dashboard subscribe this way.",
        "",
        "### Ephemeral events",
        "",
        "A wait poll whose result did not change is not written to the log; live",
        "subscribers still see it as a `job.wait_tick` whose `payload.ephemeral` is `true`",
        "(`payload.poll` counts it). Such an event has no row and no `hash`, carries the",
        "`seq` of the last committed event, is never replayed by `since_seq` nor returned",
        "by `events.list`, and does not count as the last `seq` seen: resume from the last",
        "event without `ephemeral`. A changed result, the wait's end and a bounded-interval",
        "save (`store.wait_save_every`) are durable as before.",
        "",
    ]


def error_section() -> list[str]:
    rows = ["## Errors", "", "| code | name | meaning |", "|---|---|---|"]
    rows += [f"| {code} | {name} | {meaning} |" for code, name, meaning in ERROR_CODES]
    rows += ["", "`error.data` carries details when there are some:", ""]
    rows += [f"- `{name}`: {text}" for name, text in DATA_FIELDS]
    classes = sorted(
        (c.rpc_code, c.__name__)
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.GnomonError) and c.rpc_code != -32603
    )
    rows += ["", "gnomon's error classes and their codes (`data.kind`): "]
    rows[-1] += ", ".join(f"`{name}` {code}" for code, name in classes) + "."
    return [*rows, ""]


def example_section() -> list[str]:
    out = ["## Example session", "", "A connection opened without a bearer token (`→` sent,"]
    out += ["`←` received, `…` varies; replayed by the test suite against a real daemon):", ""]
    out.append("```text")
    for sent, received in EXAMPLE:
        if sent is not None:
            out.append("→ " + json.dumps(sent, ensure_ascii=False))
        if received is not None:
            out.append("← " + json.dumps(received, ensure_ascii=False).replace('"…"', "…"))
    return [*out, "```", ""]


def types_section() -> list[str]:
    roots = [r for m in METHODS.values() for r in (m.params, m.result)] + [Event]
    out = ["## Types", ""]
    for cls in reachable(roots):
        doc = _doc(cls)
        out += [f"### {cls.__name__}", "", *([doc, ""] if doc else []), *fields_table(cls), ""]
    return out


def render() -> str:
    """The whole of ``docs/protocol.md``."""
    head = [
        "# gnomon gateway protocol (JSON-RPC 2.0 over WebSocket)",
        "",
        f"<!-- Generated from gnomon.runtime.protocol; do not edit. Regenerate: {REGENERATE} -->",
        "",
        "The gateway protocol in full: every method with its scope, params and result types, the",
        "notifications, the error codes and an example session. `rpc.discover` returns the",
        "same methods with JSON Schemas at run time, as an OpenRPC document (the same as",
        "[`openrpc.json`](openrpc.json), for generating clients in other languages); the",
        "Python client is [`gnomon.client`](client.md).",
        "",
    ]
    parts = [head, transport(), methods_table(), error_section(), notifications()]
    parts += [example_section(), ["## Method reference", ""], method_sections(), types_section()]
    return "\n".join(line for part in parts for line in part).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
