"""gnomon.client's connection against a raw WebSocket server that answers errors under no
id of the call (``id: null``, as for a frame the daemon could not read, or an id never
sent): the calls the error can belong to fail with it — never hang, never "closed the
connection" — and the other calls get their own answers."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

from gnomon.client.rpc import Connection, open_connection, unmatched_owners
from gnomon.runtime.errors import DaemonUnreachable, GnomonError, Refused

HANG_GUARD = 10.0  # a liveness bound: the bug these tests catch is a call that never ends
Reply = Callable[[trio_websocket.WebSocketConnection, dict[str, Any], int], Awaitable[None]]


def error(ident: Any, code: int, message: str, data: Any = None) -> str:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return json.dumps({"jsonrpc": "2.0", "id": ident, "error": body})


@asynccontextmanager
async def server(reply: Reply) -> AsyncIterator[Connection]:
    """A raw server calling ``reply(ws, request, frame_bytes)`` for each frame, and a client
    connection to it."""

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            while True:
                text = await ws.get_message()
                await reply(ws, json.loads(text), len(text.encode()))
        except trio_websocket.ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        listener = await nursery.start(
            functools.partial(
                trio_websocket.serve_websocket, handler, "127.0.0.1", 0, ssl_context=None
            )
        )
        url = f"ws://127.0.0.1:{listener.port}/ws"
        with trio.fail_after(HANG_GUARD):
            async with open_connection(url, None) as conn:
                yield conn
        await release(conn)
        nursery.cancel_scope.cancel()


async def release(conn: Connection) -> None:
    """Close the client's TCP stream: trio_websocket's client leaves it open when the
    server closed the WebSocket first (tests/gateway/rawws.py), a ResourceWarning later."""
    await conn._ws._stream.aclose()


async def test_an_error_under_a_null_id_fails_the_only_pending_call() -> None:
    """The daemon answers a frame it could not read with id null: the call raises that
    error as its class, with the daemon's message."""

    async def reply(ws: Any, request: dict[str, Any], size: int) -> None:
        message = f"a frame of {size} bytes exceeds gateway.max_message_bytes (1024)"
        await ws.send_message(error(None, -32600, message, {"size": size, "limit": 1024}))

    async with server(reply) as conn:
        with pytest.raises(GnomonError, match=r"exceeds gateway.max_message_bytes \(1024\)"):
            await conn.call("job.create_many", {"specs": ["x" * 2000]})


async def test_a_null_id_error_naming_a_size_fails_only_the_call_of_that_size() -> None:
    """Two calls wait; the error names the size of one's frame: that one fails, the other
    gets its own answer afterwards."""
    held: list[dict[str, Any]] = []

    async def reply(ws: Any, request: dict[str, Any], size: int) -> None:
        if request["method"] == "big":
            await ws.send_message(error(None, -32600, "too big", {"size": size, "limit": 100}))
            for other in held:
                await ws.send_message(
                    json.dumps({"jsonrpc": "2.0", "id": other["id"], "result": 7})
                )
        else:
            held.append(request)

    async with server(reply) as conn:
        results: dict[str, Any] = {}

        async def small() -> None:
            results["small"] = await conn.call("small")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(small)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(GnomonError, match="too big"):
                await conn.call("big", {"blob": "y" * 500})
        assert results == {"small": 7}


async def test_an_error_under_an_id_never_sent_fails_the_pending_call() -> None:
    """An error whose id matches no call of the connection is not dropped: the waiting call
    fails with it (a Refused keeps its reason)."""

    async def reply(ws: Any, request: dict[str, Any], size: int) -> None:
        data = {"kind": "Refused", "reason": "too_large", "retry_after": None}
        await ws.send_message(error("not-an-id-of-ours", -32004, "refused", data))

    async with server(reply) as conn:
        with pytest.raises(Refused) as caught:
            await conn.call("system.health")
        assert caught.value.reason == "too_large"


async def test_a_late_answer_to_an_ended_call_fails_no_other_call() -> None:
    """The answer to a call that was cancelled (its id was ours) is dropped; the call
    waiting meanwhile gets its own answer."""
    first: list[dict[str, Any]] = []
    seen = trio.Event()

    async def reply(ws: Any, request: dict[str, Any], size: int) -> None:
        if request["method"] == "slow":
            first.append(request)
            seen.set()
            return
        await ws.send_message(error(first[0]["id"], -32800, "request cancelled by the client"))
        await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": 1}))

    async with server(reply) as conn:
        async with trio.open_nursery() as nursery:

            async def slow() -> None:
                await conn.call("slow")

            nursery.start_soon(slow)
            await seen.wait()
            nursery.cancel_scope.cancel()
        assert await conn.call("fast") == 1


@pytest.mark.parametrize(
    ("code", "raised", "said"),
    [
        (1009, Refused, r"larger than it reads \(WebSocket 1009.*this one was \d+ bytes"),
        (1011, DaemonUnreachable, r"before answering \(WebSocket 1011: broken\)"),
    ],
)
async def test_a_close_without_an_answer_says_why(
    code: int, raised: type[GnomonError], said: str
) -> None:
    """The server closes instead of answering: the call fails with the close code's
    meaning (1009: too_large, naming the call's size), never as a success."""

    async def reply(ws: Any, request: dict[str, Any], size: int) -> None:
        await ws.aclose(code, "broken")

    async with server(reply) as conn:
        with pytest.raises(raised, match=said):
            await conn.call("job.create_many", {"specs": []})


def test_unmatched_owners_by_size_then_limit_then_all() -> None:
    """The calls an unmatched error can belong to: the frame of the named size, else those
    over the named limit, else all pending ones."""
    sizes = {1: 50, 2: 5000, 3: 70}
    pending = {1, 2, 3}
    assert unmatched_owners({"data": {"size": 70, "limit": 60}}, sizes, pending) == [3]
    assert unmatched_owners({"data": {"size": 9, "limit": 60}}, sizes, pending) == [2, 3]
    assert unmatched_owners({"data": {"limit": 6000}}, sizes, pending) == [1, 2, 3]
    assert unmatched_owners({"code": -32700}, sizes, pending) == [1, 2, 3]
    assert unmatched_owners({"data": "text"}, sizes, set()) == []
