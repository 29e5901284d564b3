"""Error codes, batches and ``$/cancelRequest`` on a real daemon (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway.rawws import Raw, connect, error_of, well_formed
from support.daemon_proc import RealDaemon

from gnomon.runtime.gateway.rpc import MAX_BATCH

pytestmark = pytest.mark.slow


def req(ident: Any, method: str, params: Any = None) -> dict[str, Any]:
    """A request frame (a notification when ``ident`` is None)."""
    frame: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if ident is not None:
        frame["id"] = ident
    return frame


async def before_probe(conn: Raw) -> list[Any]:
    """Send a probe request; every message that arrived before its answer."""
    await conn.send(req("probe", "system.health"))
    seen = []
    while True:
        msg = await conn.recv()
        if isinstance(msg, dict) and msg.get("id") == "probe":
            well_formed(msg)
            return seen
        seen.append(msg)


@pytest.mark.parametrize(
    "frame",
    ["not json", '{"jsonrpc": "2.0", "id": 1', "[" * 20_000 + "]" * 20_000, '{"a":' * 10_000],
    ids=["text", "truncated", "deep-array", "deep-object"],
)
async def test_parse_error(daemon: RealDaemon, frame: str) -> None:
    """Text that is not JSON, or nests beyond the decoder, gets -32700 and the connection
    stays usable."""
    async with connect(daemon) as conn:
        await conn.send(frame)
        msg = await conn.recv()
        error_of(msg, -32700)
        assert msg["id"] is None
        assert await before_probe(conn) == []


@pytest.mark.parametrize(
    ("frame", "ident"),
    [
        ({"jsonrpc": "1.0", "id": 7, "method": "system.health"}, 7),
        ({"jsonrpc": "2.0", "id": 8}, 8),
        ({"jsonrpc": "2.0", "id": True, "method": "system.health"}, None),
        ({"jsonrpc": "2.0", "id": [1], "method": "system.health"}, None),
        ([], None),
        (42, None),
        (b"\x00binary", None),
    ],
    ids=["version", "no-method", "bool-id", "list-id", "empty-batch", "scalar", "binary"],
)
async def test_invalid_request(daemon: RealDaemon, frame: Any, ident: Any) -> None:
    """Objects that are not requests (and binary frames) get -32600, echoing a valid id."""
    async with connect(daemon) as conn:
        await conn.send(frame)
        msg = await conn.recv()
        error_of(msg, -32600)
        assert msg["id"] == ident


async def test_unknown_method(daemon: RealDaemon) -> None:
    """An unknown method gets -32601 naming it, with a hint to rpc.discover."""
    async with connect(daemon) as conn:
        err = error_of(await conn.call("job.explode"), -32601)
        assert "job.explode" in err["message"]
        assert "rpc.discover" in err["data"]["hint"]


async def test_invalid_params_name_the_fields(daemon: RealDaemon) -> None:
    """-32602 carries field-level data: the field, the offending token, accepted forms."""
    async with connect(daemon) as conn:
        err = error_of(await conn.call("job.get", {"reff": "x"}), -32602)
        assert err["data"]["field"] == "ref"
        assert err["data"]["details"] == [
            "required field missing @ $.ref",
            "unknown field(s) reff @ $",
        ]
        err = error_of(await conn.call("job.list", {"statuses": ["bogus"]}), -32602)
        assert err["data"]["token"] == "bogus"
        assert "paused" in err["data"]["accepted"]
        err = error_of(await conn.call("job.logs", ["positional"]), -32602)
        assert err["data"]["kind"] == "InvalidInput"


async def test_not_found(daemon: RealDaemon) -> None:
    """An unknown job reference gets -32001 with a hint."""
    async with connect(daemon) as conn:
        err = error_of(await conn.call("job.get", {"ref": "no-such-job"}), -32001)
        assert "no-such-job" in err["message"]
        assert err["data"]["hint"]


async def test_unauthorized_until_hello(daemon: RealDaemon) -> None:
    """Without a bearer token every method but system.hello is -32003; a bad token in
    hello is -32003; the right one unlocks the session."""
    async with connect(daemon, token=None) as conn:
        error_of(await conn.call("system.health"), -32003)
        error_of(await conn.call("system.hello", {"token": "wrong"}), -32003)
        error_of(await conn.call("system.hello", {}), -32003)
        hello = await conn.result("system.hello", {"token": daemon.token})
        assert hello["scope"] == "admin"
        assert (await conn.result("system.health"))["ok"]


async def test_batch_answers_each_call_once(daemon: RealDaemon) -> None:
    """A mixed batch gets one array: a response per call with an id (errors included),
    none for notifications."""
    batch = [
        req(1, "system.health"),
        req(None, "system.stats"),
        {"jsonrpc": "2.0", "id": 2},
        req(3, "nope"),
        req("four", "job.get", {"ref": "no-such-job"}),
        17,
    ]
    async with connect(daemon) as conn:
        await conn.send(batch)
        answers = await conn.recv()
        assert isinstance(answers, list)
        by_id = {m["id"]: m for m in map(well_formed, answers) if m["id"] is not None}
        assert set(by_id) == {1, 2, 3, "four"}
        assert len(answers) == 5
        assert by_id[1]["result"]["ok"]
        error_of(by_id[2], -32600)
        error_of(by_id[3], -32601)
        error_of(by_id["four"], -32001)
        error_of(next(m for m in answers if m["id"] is None), -32600)


async def test_batch_of_notifications_is_silent(daemon: RealDaemon) -> None:
    """A batch holding only notifications gets no response at all."""
    async with connect(daemon) as conn:
        await conn.send([req(None, "system.health"), req(None, "nope")])
        assert await before_probe(conn) == []


async def test_batch_too_large(daemon: RealDaemon) -> None:
    """A batch over the limit is refused whole with -32600."""
    async with connect(daemon) as conn:
        await conn.send([req(i, "system.health") for i in range(MAX_BATCH + 1)])
        assert str(MAX_BATCH) in error_of(await conn.recv(), -32600)["message"]


#: Rounds of calls and cancels before a test of cancellation gives up.
ROUNDS = 8


async def test_cancel_request(daemon: RealDaemon) -> None:
    """$/cancelRequest answers requests still in flight with -32800, each call still gets
    exactly one response, and a cancel for an unknown id is silent. Whether a call is
    still in flight when its cancel arrives (a frame later) is a race the calls usually
    lose; every round must answer each call exactly once, and some round must show a
    cancelled one."""
    calls = [req(i, "events.list", {"limit": 1000}) for i in range(MAX_BATCH)]
    cancels = [req(None, "$/cancelRequest", {"id": i}) for i in reversed(range(MAX_BATCH))]
    codes: list[Any] = []
    async with connect(daemon) as conn:
        await conn.send(req(None, "$/cancelRequest", {"id": "never-sent"}))
        for _ in range(ROUNDS):
            await conn.send(calls)
            await conn.send(cancels)
            answers = await conn.recv()
            assert sorted(well_formed(m)["id"] for m in answers) == list(range(MAX_BATCH))
            codes = [m.get("error", {}).get("code", "result") for m in answers]
            assert set(codes) <= {-32800, "result"}
            if -32800 in codes:
                break
        assert -32800 in codes
        cancelled = next(m for m in answers if "error" in m)
        assert "cancelled" in cancelled["error"]["message"]
        assert await before_probe(conn) == []


async def test_cancel_request_with_an_id_is_answered(daemon: RealDaemon) -> None:
    """$/cancelRequest sent as a request (with an id) gets a null result, not silence."""
    async with connect(daemon) as conn:
        assert (await conn.call("$/cancelRequest", {"id": "nothing-in-flight"}))["result"] is None
