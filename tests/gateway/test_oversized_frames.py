"""Frames over ``gateway.max_message_bytes`` (under the 4× hard cap) against a real
daemon: the -32600 answer names the size and the limit and comes under the request's id
when the frame's head holds it (else ``id: null``); ``system.hello`` names the limit;
gnomon.client raises that error for the call (no hang) and the connection goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway.conftest import MAX_MESSAGE_BYTES
from gateway.rawws import connect, error_of, hourly_spec
from support.daemon_proc import RealDaemon

from gnomon.client.rpc import open_connection
from gnomon.runtime.errors import GnomonError, Refused

pytestmark = pytest.mark.slow


def create_many(ident: Any, count: int) -> dict[str, Any]:
    """A ``job.create_many`` request as gnomon.client sends it (id before params)."""
    specs = [hourly_spec(f"big-{i}") for i in range(count)]
    return {"jsonrpc": "2.0", "id": ident, "method": "job.create_many", "params": {"specs": specs}}


async def answer_to(daemon: RealDaemon, frame: Any) -> dict[str, Any]:
    """Send one oversized frame; its answer (the connection must still serve a call)."""
    text = frame if isinstance(frame, str) else json.dumps(frame)
    assert MAX_MESSAGE_BYTES < len(text.encode()) < 4 * MAX_MESSAGE_BYTES
    async with connect(daemon) as conn:
        await conn.send(text)
        answer: dict[str, Any] = await conn.recv()
        assert (await conn.result("system.health"))["ok"]
    err = error_of(answer, -32600)
    assert err["data"] == {"size": len(text.encode()), "limit": MAX_MESSAGE_BYTES}
    assert f"{len(text.encode())} bytes" in err["message"]
    assert str(MAX_MESSAGE_BYTES) in err["message"]
    return answer


@pytest.mark.parametrize("ident", [42, "call-☃"])
async def test_an_oversized_request_is_answered_under_its_id(
    daemon: RealDaemon, ident: Any
) -> None:
    """A create_many of ~140 specs (over 64 KiB) gets -32600 naming size and limit under
    its own id, and nothing is created."""
    answer = await answer_to(daemon, create_many(ident, 140))
    assert answer["id"] == ident
    async with connect(daemon) as conn:
        listed = await conn.result("job.list", {"all": True, "name": "big-"})
    assert listed["jobs"] == []


async def test_the_top_level_id_is_found_past_a_nested_one(daemon: RealDaemon) -> None:
    """An ``id`` inside params before the request's own is not taken for it."""
    pad = "x" * (MAX_MESSAGE_BYTES + 10)
    frame = '{"jsonrpc":"2.0","params":{"id":1,"pad":"p"},"id":7,"method":"job.get","x":"%s"}'
    answer = await answer_to(daemon, frame % pad)
    assert answer["id"] == 7


@pytest.mark.parametrize("where", ["after the params", "batch", "not json"])
async def test_an_id_out_of_reach_is_answered_under_null(daemon: RealDaemon, where: str) -> None:
    """An id past the frame's head, a batch (many ids) or text that is not a request is
    answered under ``id: null``: the daemon never parses the whole frame."""
    request = create_many(9, 140)
    frame = {
        "after the params": json.dumps({k: v for k, v in request.items() if k != "id"} | {"id": 9}),
        "batch": json.dumps([request]),
        "not json": "{" + "x" * (MAX_MESSAGE_BYTES + 10),
    }[where]
    assert (await answer_to(daemon, frame))["id"] is None


async def test_hello_names_the_frame_limit(daemon: RealDaemon) -> None:
    """system.hello says how large a request frame may be."""
    async with connect(daemon) as conn:
        hello = await conn.result("system.hello", {})
    assert hello["max_message_bytes"] == MAX_MESSAGE_BYTES


async def test_the_client_raises_the_oversized_error_and_goes_on(daemon: RealDaemon) -> None:
    """gnomon.client's call that is too large raises the daemon's -32600 (naming size and
    limit) instead of waiting; the same connection then serves a call."""
    params = create_many(1, 140)["params"]
    async with open_connection(daemon.url, daemon.token) as conn:
        with pytest.raises(GnomonError, match=f"max_message_bytes \\({MAX_MESSAGE_BYTES}\\)"):
            await conn.call("job.create_many", params)
        assert (await conn.call("system.health"))["ok"]


async def test_the_client_says_too_large_when_the_daemon_closes_unread(
    daemon: RealDaemon,
) -> None:
    """A call over 4× the limit closes the connection unread (1009): gnomon.client raises
    Refused too_large naming the frame's size, not a bare "connection closed"."""
    params = create_many(1, 600)["params"]
    async with open_connection(daemon.url, daemon.token) as conn:
        try:
            with pytest.raises(Refused, match=r"WebSocket 1009.*this one was \d+ bytes") as caught:
                await conn.call("job.create_many", params)
        finally:  # trio_websocket's client leaves its TCP stream open after a server close
            await conn._ws._stream.aclose()
    assert caught.value.reason == "too_large"
