"""The protocol as an OpenRPC document (``rpc.discover``, ``docs/openrpc.json``).

Generated from the same method table as docs/protocol.md (:data:`METHODS`) so that
clients in other languages can be generated from it. Params are passed by name: each
field of a method's params type is one content descriptor; the result is the result
type. The JSON Schemas are the wire converter's (:func:`wire.json_schema`), their
shared definitions moved to ``components.schemas``. ``$/cancelRequest`` is listed as a
method without a result (OpenRPC's notification: no answer comes); ``events.notify`` and
``events.lagged`` (daemon → client) are in ``x-notifications``; error codes in
``components.errors``. Pure: builds a dict.

Regenerate the file with ``python -m gnomon.runtime.gateway.openrpc > docs/openrpc.json``.
"""

from __future__ import annotations

import json
from typing import Any

from gnomon.runtime import protocol_names as names
from gnomon.runtime.gateway.protocol_doc import ERROR_CODES
from gnomon.runtime.model import wire
from gnomon.runtime.protocol import METHODS, Method
from gnomon.runtime.protocol_system import PROTOCOL_VERSION

OPENRPC_VERSION = "1.3.2"
REGENERATE = "python -m gnomon.runtime.gateway.openrpc > docs/openrpc.json"
_DEFS = "#/$defs/"
_COMPONENTS = "#/components/schemas/"


def _moved(node: Any) -> Any:
    """``node`` with every ``#/$defs/X`` reference pointing at ``components.schemas``."""
    if isinstance(node, dict):
        return {
            k: (_COMPONENTS + v[len(_DEFS) :])
            if k == "$ref" and isinstance(v, str) and v.startswith(_DEFS)
            else _moved(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_moved(v) for v in node]
    return node


def _schema(cls: Any, shared: dict[str, Any]) -> dict[str, Any]:
    """``cls``'s JSON Schema without ``$schema``; its definitions go to ``shared``."""
    schema = dict(wire.json_schema(cls))
    schema.pop("$schema", None)
    for name, definition in schema.pop("$defs", {}).items():
        shared.setdefault(name, _moved(definition))
    return _moved(schema)  # type: ignore[no-any-return]


def _method(m: Method, shared: dict[str, Any]) -> dict[str, Any]:
    params = _schema(m.params, shared)
    required = set(params.get("required", ()))
    return {
        "name": m.name,
        "summary": m.doc,
        "paramStructure": "by-name",
        "params": [
            {"name": field, "schema": schema, "required": field in required}
            for field, schema in params.get("properties", {}).items()
        ],
        "result": {"name": "result", "schema": _schema(m.result, shared)},
        "x-scope": m.scope,
    }


_CANCEL = {
    "name": names.CANCEL_REQUEST,
    "summary": "notification: cancel request {id}",
    "paramStructure": "by-name",
    "params": [{"name": "id", "schema": {"type": ["integer", "string"]}, "required": True}],
    "x-scope": "read",
}
_NOTIFICATIONS = [
    {
        "name": names.EVENTS_NOTIFY,
        "summary": "one committed event of a subscription",
        "params": ["subscription", "seq", "event"],
    },
    {
        "name": names.EVENTS_LAGGED,
        "summary": "the subscription fell behind; subscribe again from resume_from",
        "params": ["subscription", "resume_from"],
    },
]


def document() -> dict[str, Any]:
    """The OpenRPC document of the protocol (see the module docstring)."""
    shared: dict[str, Any] = {}
    methods = [_method(m, shared) for m in METHODS.values()]
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "gnomon",
            "version": str(PROTOCOL_VERSION),
            "description": "JSON-RPC 2.0 over WebSocket (ws://HOST:PORT/ws, a bearer token); "
            "see docs/protocol.md.",
        },
        "servers": [
            {
                "name": "a local daemon",
                "url": "ws://127.0.0.1:{port}/ws",
                "summary": "Authorization: Bearer TOKEN on the upgrade request",
                "variables": {"port": {"default": "8765", "description": "daemon.port"}},
            }
        ],
        "methods": [*methods, _CANCEL],
        "components": {
            "schemas": dict(sorted(shared.items())),
            "errors": {
                name.replace(" ", "_"): {"code": code, "message": name, "data": meaning}
                for code, name, meaning in ERROR_CODES
            },
        },
        "x-notifications": _NOTIFICATIONS,
    }


def render() -> str:
    """``docs/openrpc.json``'s text."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
