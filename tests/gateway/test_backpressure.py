"""A client that pipelines requests and never reads its answers (issue 17, item 6): the
daemon stops reading it (TCP pushes back), its memory stays bounded, other clients keep
being answered, and once the client reads every request is answered exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio_websocket
from gateway.rawws import connect, headers
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow
MAX_FRAMES = 60_000  # before the fix: all read at once, the daemon grew by ~450 MiB
STALL = 3.0  # a send blocked this long means the daemon stopped reading us
RSS_BOUND_MIB = 100  # generous: measured growth is ~1 MiB


def rss_mib(pid: int) -> float:
    """The process's resident set, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def frame(ident: int) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "config.get", "params": {}})


async def test_pipelining_without_reading_is_pushed_back(daemon: RealDaemon) -> None:
    """Sends stall once the daemon holds its bound of this connection's work; meanwhile
    the daemon answers others and its RSS stays within a bound; reading afterwards yields
    one answer per request."""
    pid = daemon.proc.pid
    async with connect(daemon) as warm:  # settle the daemon's own allocations first
        for _ in range(50):
            await warm.result("config.get")
    before = rss_mib(pid)
    stream = await trio.open_tcp_stream("127.0.0.1", daemon.port)
    try:
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery, stream, "127.0.0.1", "/ws", extra_headers=headers(daemon.token),
                message_queue_size=1, max_message_size=1 << 24,
            )  # fmt: skip
            sent = await _send_until_stalled(ws)
            assert sent < MAX_FRAMES, "the daemon kept reading a client that never reads"
            grown = rss_mib(pid) - before
            async with connect(daemon) as bystander:
                assert (await bystander.result("system.stats"))["connections"] >= 2
            assert grown < RSS_BOUND_MIB, f"RSS grew {grown:.0f} MiB"
            answered = await _read_all(ws, sent)
            assert sorted(answered) == list(range(sent))
            nursery.cancel_scope.cancel()
    finally:
        await stream.aclose()


async def _send_until_stalled(ws: trio_websocket.WebSocketConnection) -> int:
    """Send frames without reading until one send stalls for ``STALL`` seconds (or
    ``MAX_FRAMES`` went out); how many were sent whole."""
    for ident in range(MAX_FRAMES):
        with trio.move_on_after(STALL) as stalled:
            await ws.send_message(frame(ident))
        if stalled.cancelled_caught:
            return ident  # that frame may be half-written: the connection is done
    return MAX_FRAMES


async def _read_all(ws: trio_websocket.WebSocketConnection, count: int) -> set[int]:
    """Read answers until ``count`` distinct ids came, each exactly once."""
    seen: set[int] = set()
    with trio.fail_after(120):
        while len(seen) < count:
            answer = json.loads(await ws.get_message())
            assert "result" in answer, answer
            assert answer["id"] not in seen, f"answered twice: {answer['id']}"
            seen.add(answer["id"])
    return seen
