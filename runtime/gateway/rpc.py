"""JSON-RPC 2.0 framing and errors: pure functions, no I/O.

Error codes: the specification's (-32700 parse error, -32600 invalid request, -32601
method not found, -32602 invalid params, -32603 internal) plus docs/protocol.md's -32001 not
found, -32002 conflict, -32003 unauthorized, -32004 refused, -32005 timeout, -32006 actor
crashed, -32007 shutting down, and LSP's -32800 for a request cancelled by the client.
``data`` carries field-level details, the offending token, accepted forms and hints.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from gnomon.runtime.errors import GnomonError, wire_data

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND = -32700, -32600, -32601
INVALID_PARAMS, INTERNAL = -32602, -32603
CANCELLED = -32800
MAX_BATCH = 100
#: How much of an oversized frame :func:`head_id` reads looking for its id.
HEAD_SCAN = 4096
#: A string (to its closing quote, else to the end: one pass, no backtracking) or a bracket.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.?)*"?|[{}\[\]]')
_COLON = re.compile(r"\s*:\s*")
_AFTER = re.compile(r"\s*[,}]")

RequestId = str | int | None


@attrs.frozen
class RpcRequest:
    """One call; ``is_notification`` ones get no response."""

    id: RequestId
    method: str
    params: Any
    is_notification: bool


@attrs.frozen
class RpcFault(Exception):
    """A protocol-level failure with its JSON-RPC code."""

    code: int
    message: str
    data: Any = None


def parse(text: str | bytes) -> tuple[list[RpcRequest | dict[str, Any]], bool]:
    """Decode a frame into requests (or ready-made error responses for bad entries) and
    whether it was a batch.

    Raises:
        RpcFault: not JSON (or nested beyond the decoder), an empty batch, or a batch too
            large.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RpcFault(PARSE_ERROR, f"parse error: {exc}") from None
    except RecursionError:
        raise RpcFault(PARSE_ERROR, "parse error: JSON nested too deeply") from None
    if isinstance(data, list):
        if not data:
            raise RpcFault(INVALID_REQUEST, "invalid request: empty batch")
        if len(data) > MAX_BATCH:
            raise RpcFault(INVALID_REQUEST, f"invalid request: batch over {MAX_BATCH} calls")
        return [_one(item) for item in data], True
    return [_one(data)], False


def _one(item: Any) -> RpcRequest | dict[str, Any]:
    if not isinstance(item, dict):
        return error(None, INVALID_REQUEST, "invalid request: expected an object")
    ident = item.get("id")
    if not (ident is None or isinstance(ident, str | int)) or isinstance(ident, bool):
        return error(None, INVALID_REQUEST, "invalid request: id must be a string or number")
    if item.get("jsonrpc") != "2.0":
        return error(ident, INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
    method = item.get("method")
    if not isinstance(method, str):
        return error(ident, INVALID_REQUEST, 'invalid request: "method" must be a string')
    params = item.get("params", {})
    if not isinstance(params, dict | list):
        return error(ident, INVALID_PARAMS, "invalid params: must be an object")
    return RpcRequest(ident, method, params, "id" not in item)


def head_id(text: str, limit: int = HEAD_SCAN) -> RequestId:
    """The top-level ``"id"`` of a request object found in the first ``limit`` characters
    of ``text`` (a frame too large to parse whole), else ``None``: a batch, an id further
    on, or one that is not a string or an integer. Reads at most ``limit`` characters;
    never raises."""
    head = text[:limit]
    if not head.lstrip().startswith("{"):
        return None
    depth = 0
    for token in _TOKEN.finditer(head):
        word = token.group()
        if word in "{[":
            depth += 1
        elif word in "}]":
            depth -= 1
        elif depth == 1 and (colon := _COLON.match(head, token.end())) and _decoded(word) == "id":
            return _id_value(head, colon.end())
    return None


def _decoded(word: str) -> Any:
    try:
        return json.loads(word)
    except ValueError:
        return None


def _id_value(head: str, at: int) -> RequestId:
    try:
        value, end = json.JSONDecoder().raw_decode(head, at)
    except ValueError:  # cut off by the scan, not JSON, or an integer too long to read
        return None
    ok = isinstance(value, str | int) and not isinstance(value, bool)
    ended = _AFTER.match(head, end) is not None  # not a number the scan cut short
    return value if ok and ended else None


def result(ident: RequestId, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "result": value}


def error(ident: RequestId, code: int, message: str, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": "2.0", "id": ident, "error": body}


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def fault_of(exc: BaseException) -> RpcFault:
    """The JSON-RPC error for an exception raised by a method."""
    if isinstance(exc, RpcFault):
        return exc
    if isinstance(exc, GnomonError):
        return RpcFault(exc.rpc_code, exc.message, wire_data(exc))
    return RpcFault(INTERNAL, f"internal error: {type(exc).__name__}")
