"""A raw JSON-RPC connection to a real daemon over trio_websocket, and checks that a
message is a well-formed JSON-RPC 2.0 response or notification."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import trio
import trio_websocket
from support.daemon_proc import RealDaemon

from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.errors import sole_error
from gnomon.runtime.model import wire

#: A bound on a hang only, never on speed: a 2,000-spec job.create_many takes seconds on
#: a loaded 2-core CI machine (it timed out at 10 s with the load average at ~10).
TIMEOUT = 120.0
_KEYS = {"jsonrpc", "id", "result", "error"}


def hourly_spec(name: str) -> dict[str, Any]:
    """An hourly no-op job in wire form, built as the CLI builds it (it will not fire
    during a test)."""
    built = spec_from_options(
        {"name": name, "do": "noop", "every": "1h"}, now=datetime.now(UTC), tz="UTC"
    )
    return dict(wire.unstructure(built))


def well_formed(msg: Any) -> dict[str, Any]:
    """Assert ``msg`` is one JSON-RPC 2.0 response object; return it."""
    assert isinstance(msg, dict), msg
    assert msg.get("jsonrpc") == "2.0", msg
    assert "id" in msg, msg
    assert set(msg) <= _KEYS, msg
    assert ("result" in msg) != ("error" in msg), msg
    ident = msg["id"]
    assert ident is None or (isinstance(ident, str | int) and not isinstance(ident, bool)), msg
    if "error" in msg:
        err = msg["error"]
        assert isinstance(err, dict), msg
        assert set(err) <= {"code", "message", "data"}, msg
        assert type(err["code"]) is int, msg
        assert isinstance(err["message"], str), msg
        assert err["message"], msg
    return msg


def error_of(msg: Any, code: int) -> dict[str, Any]:
    """Assert ``msg`` is a well-formed error response with ``code``; its ``error``."""
    err: dict[str, Any] = well_formed(msg).get("error") or {}
    assert err.get("code") == code, msg
    return err


def headers(token: str | None, origin: str | None = None) -> list[tuple[bytes, bytes]]:
    """Upgrade headers: a bearer token and an Origin, each optional."""
    out = [(b"x-gnomon-client", b"gateway-tests")]
    if token is not None:
        out.append((b"authorization", f"Bearer {token}".encode()))
    if origin is not None:
        out.append((b"origin", origin.encode()))
    return out


class Raw:
    """One connection: frames out, JSON in; notifications are kept in ``notes``."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.notes: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def send(self, frame: str | bytes | Any) -> None:
        """Send text or bytes as they are; anything else as JSON text."""
        if not isinstance(frame, str | bytes):
            frame = json.dumps(frame)
        await self.ws.send_message(frame)

    async def recv(self) -> Any:
        """The next message, decoded (it must be JSON)."""
        with trio.fail_after(TIMEOUT):
            return json.loads(await self.ws.get_message())

    async def answer(self, ident: Any) -> dict[str, Any]:
        """Read until the response with ``ident``; notifications go to ``notes``."""
        while True:
            msg = await self.recv()
            if isinstance(msg, dict) and "method" in msg and "id" not in msg:
                self.notes.append(msg)
            elif isinstance(msg, dict) and msg.get("id") == ident:
                return well_formed(msg)
            else:
                raise AssertionError(f"unexpected message while waiting for {ident}: {msg}")

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        """Send a request; its whole (well-formed) response."""
        ident = next(self._ids)
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            frame["params"] = params
        await self.send(frame)
        return await self.answer(ident)

    async def result(self, method: str, params: Any = None) -> Any:
        """Call and require success; the result."""
        msg = await self.call(method, params)
        assert "result" in msg, msg
        return msg["result"]


@asynccontextmanager
async def connect(
    daemon: RealDaemon, *, token: str | None = "", origin: str | None = None
) -> AsyncIterator[Raw]:
    """A raw connection; ``token=""`` means the daemon's admin token, ``None`` none.

    The test owns the TCP stream and always closes it (trio_websocket's own client leaks
    its socket when the upgrade is refused or the server closes mid-send); errors come out
    unwrapped from trio's exception groups.
    """
    bearer = daemon.token if token == "" else token
    stream = await trio.open_tcp_stream("127.0.0.1", daemon.port)
    try:
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery,
                stream,
                "127.0.0.1",
                "/ws",
                extra_headers=headers(bearer, origin),
                max_message_size=1 << 24,
            )
            yield Raw(ws)
            with trio.move_on_after(1):
                await ws.aclose()
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise sole_error(group) from None
    finally:
        await stream.aclose()


async def read_response(stream: trio.SocketStream) -> tuple[int, bytes]:
    """Read an HTTP response head (and, when it closes the connection, its body): the
    status and the body read so far."""
    data = b""
    with trio.fail_after(TIMEOUT):
        while b"\r\n\r\n" not in data:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            None,
        )  # fmt: skip
        while length is not None and len(body) < length:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            body += chunk
    return status, body


async def http_get(port: int, path: str, host: str) -> tuple[int, bytes]:
    """``GET path`` with this ``Host`` header over a fresh connection: status and body."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        return await read_response(stream)
    finally:
        await stream.aclose()


UPGRADE = (
    "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
)


async def raw_upgrade(
    port: int, *, host: str | None = None, token: str | None = None
) -> tuple[int, bytes, trio.SocketStream]:
    """A WebSocket upgrade by hand (for connections that then sit idle or are refused):
    the status, the body (a refusal's) and the open stream, which the caller closes."""
    extra = "" if token is None else f"Authorization: Bearer {token}\r\n"
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    request = UPGRADE.format(host=host or f"127.0.0.1:{port}", extra=extra)
    await stream.send_all(request.encode())
    status, body = await read_response(stream)
    return status, body, stream


async def close_code(stream: trio.SocketStream) -> int | None:
    """Wait for the server's close frame on an idle upgraded connection: its status code
    (``None`` if the connection ended without one)."""
    data = b""
    with trio.fail_after(TIMEOUT):
        while len(data) < 4:
            chunk = await stream.receive_some(4096)
            if not chunk:
                return None
            data += chunk
    assert data[0] == 0x88, data  # FIN + close opcode: nothing else is ever sent unasked
    return int.from_bytes(data[2:4], "big")
