"""Hypothesis-generated frames against a real daemon: random JSON values, request-shaped
objects, batches, text that is not JSON and binary frames always get well-formed JSON-RPC
answers (never an internal error); frames over the limit get -32600, and frames over 4×
the limit close the connection with WebSocket code 1009. A second connection keeps working
throughout.

``GATEWAY_FUZZ_EXAMPLES=3000`` runs a deeper search than the default 120 examples.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import trio
import trio_websocket
from gateway.conftest import MAX_MESSAGE_BYTES
from gateway.rawws import Raw, connect, error_of, well_formed
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.daemon_proc import RealDaemon

from gnomon.runtime.gateway.rpc import MAX_BATCH
from gnomon.runtime.protocol import METHODS

pytestmark = pytest.mark.slow
PROBE = {"jsonrpc": "2.0", "id": "probe-☃", "method": "system.health"}
APP_CODES = {-32700, -32600, -32601, -32602, -32800, *range(-32007, -32000)}
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "120"))
FEW = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

printable = st.characters(exclude_categories=["Cs"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(printable, max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
methods = st.sampled_from([*sorted(METHODS), "$/cancelRequest", "nope"]) | st.text(max_size=12)
requests = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0"]), "method": methods},
    optional={"id": scalars, "params": json_values},
)
values = requests | json_values | st.lists(requests | json_values, max_size=5)
texts = values.map(json.dumps)
frames = (
    texts
    | texts.flatmap(lambda s: st.integers(0, max(len(s) - 1, 0)).map(lambda n: s[:n]))
    | st.text(printable, max_size=40)
    | st.binary(max_size=40)
)


def is_notification(item: Any) -> bool:
    """A valid request without an id (the server must not answer it)."""
    return (
        isinstance(item, dict)
        and item.get("jsonrpc") == "2.0"
        and isinstance(item.get("method"), str)
        and "id" not in item
        and isinstance(item.get("params", {}), dict | list)
    )


def valid_id(item: Any) -> bool:
    ident = item.get("id") if isinstance(item, dict) else None
    return isinstance(ident, str | int) and not isinstance(ident, bool)


def decode(frame: str | bytes) -> tuple[bool, Any]:
    """Whether ``frame`` is a JSON text frame, and its value."""
    if isinstance(frame, bytes):
        return False, None
    try:
        return True, json.loads(frame)
    except (ValueError, RecursionError):
        return False, None


def answers_expected(frame: str | bytes) -> int:
    """How many messages the frame must get back (0 or 1)."""
    ok, value = decode(frame)
    if ok and isinstance(value, list) and 0 < len(value) <= MAX_BATCH:
        return int(not all(map(is_notification, value)))
    return int(not (ok and is_notification(value)))


def check_answer(frame: str | bytes, msg: Any) -> None:
    """The one answer fits the frame: codes for bad frames, ids echoed, no -32603."""
    ok, value = decode(frame)
    if not ok:
        error_of(msg, -32600 if isinstance(frame, bytes) else -32700)
        return
    if isinstance(value, list) and 0 < len(value) <= MAX_BATCH:
        assert isinstance(msg, list), msg
        assert len(msg) == sum(not is_notification(v) for v in value), msg
        for item in msg:
            assert well_formed(item).get("error", {}).get("code", -32600) in APP_CODES, item
        return
    well_formed(msg)
    assert msg.get("error", {}).get("code", -32600) in APP_CODES, msg
    if not isinstance(value, dict):
        error_of(msg, -32600)
    elif valid_id(value) and value.get("jsonrpc") == "2.0":
        assert msg["id"] == value["id"], msg


async def until_probe(conn: Raw, want: int) -> list[Any]:
    """Send a probe; read until it and ``want`` other answers arrived (notifications are
    checked and set aside)."""
    await conn.send(PROBE)
    got, probed = [], False
    while not probed or len(got) < want:
        msg = await conn.recv()
        if isinstance(msg, dict) and "method" in msg:
            assert set(msg) == {"jsonrpc", "method", "params"}, msg
            assert msg["method"] in ("events.notify", "events.lagged"), msg
        elif isinstance(msg, dict) and msg.get("id") == PROBE["id"]:
            probed = "result" in well_formed(msg)
            assert probed, msg
        else:
            got.append(msg)
    return got


async def exchange(daemon: RealDaemon, frame: str | bytes) -> None:
    async with connect(daemon) as fuzzed, connect(daemon) as other:
        await fuzzed.send(frame)
        want = answers_expected(frame)
        got = await until_probe(fuzzed, want)
        assert len(got) == want, (frame, got)
        if want:
            check_answer(frame, got[0])
        assert await until_probe(fuzzed, 0) == []
        assert (await other.result("system.health"))["ok"]


@FEW
@given(frame=frames)
@example(frame='{"jsonrpc": "2.0", "id": 5, "method": "$/cancelRequest", "params": {"id": 5}}')
@example(frame="[" * 30_000)
def test_any_frame_gets_a_well_formed_answer(daemon: RealDaemon, frame: str | bytes) -> None:
    """Whatever arrives, the answer (if one is due) is a well-formed JSON-RPC response and
    both connections keep working."""
    trio.run(exchange, daemon, frame)


async def send_and_read(daemon: RealDaemon, frame: str | bytes) -> None:
    async with connect(daemon) as conn:
        await conn.send(frame)
        await conn.recv()


async def close_reason(daemon: RealDaemon, frame: str | bytes) -> trio_websocket.CloseReason:
    """Send ``frame`` on a fresh connection and return why the server closed it."""
    with pytest.raises(trio_websocket.ConnectionClosed) as closed:
        await send_and_read(daemon, frame)
    return closed.value.reason


def _frame(kind: str, size: int) -> str | bytes:
    pad = "x" * size
    return {
        "text": pad,
        "json": json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "job.get", "params": {"ref": pad}}
        ),
        "binary": pad.encode(),
    }[kind]


async def too_big_answered(daemon: RealDaemon, frame: str | bytes) -> None:
    async with connect(daemon) as conn:
        await conn.send(frame)
        err = error_of(await conn.recv(), -32600)
        if isinstance(frame, str):
            assert str(MAX_MESSAGE_BYTES) in err["message"]
            assert err["data"]["limit"] == MAX_MESSAGE_BYTES
        assert (await conn.result("system.health"))["ok"]  # the same connection goes on


@settings(FEW, max_examples=6)
@given(
    size=st.integers(MAX_MESSAGE_BYTES + 1, 3 * MAX_MESSAGE_BYTES),
    kind=st.sampled_from(["text", "json", "binary"]),
)
def test_oversized_frame_gets_a_json_rpc_error(daemon: RealDaemon, size: int, kind: str) -> None:
    """A frame over gateway.max_message_bytes (up to 4×) is answered with -32600 naming the
    limit, and the connection stays usable."""
    trio.run(too_big_answered, daemon, _frame(kind, size))


async def oversized(daemon: RealDaemon, frame: str | bytes) -> None:
    async with connect(daemon) as other:
        reason = await close_reason(daemon, frame)
        assert reason.code == 1009
        assert (await other.result("system.health"))["ok"]


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_huge_frame_closes_with_1009(daemon: RealDaemon, kind: str) -> None:
    """A frame over 4× gateway.max_message_bytes is never buffered: that connection closes
    with 1009 (message too big); other connections are untouched."""
    trio.run(oversized, daemon, _frame(kind, 4 * MAX_MESSAGE_BYTES + 1))
