"""The HTTP/1.1 pieces of the front door (:mod:`gnomon.runtime.gateway.http`): reading a
request head with h11, one-shot responses, and the stream that replays the bytes already
read to the WebSocket handshake."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from http import HTTPStatus

import h11
import trio

HEAD_LIMIT = 64 * 1024


async def read_request_head(
    stream: trio.abc.Stream, scope: trio.CancelScope
) -> tuple[h11.Request, bytes] | None:
    """The request head and every byte read so far (the head and what followed it), or
    ``None``: the connection closed, the head is malformed or over :data:`HEAD_LIMIT`
    bytes, or ``scope`` (the caller's deadline) was cancelled."""
    conn = h11.Connection(h11.SERVER)
    buffered = b""
    with scope:
        while len(buffered) <= HEAD_LIMIT:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                return event, buffered
            if event is not h11.NEED_DATA:
                return None
            data = bytes(await stream.receive_some(16384))
            if not data:
                return None
            buffered += data
            conn.receive_data(data)
    return None


def header(request: h11.Request, name: bytes) -> str:
    """The value of header ``name`` (lower case), stripped; ``""`` when absent."""
    for key, value in request.headers:
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return ""


async def respond(
    stream: trio.abc.Stream,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send one complete HTTP/1.1 response and let the connection close."""
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *(extra or []),
    ]
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
    await stream.send_all(head + body)


class ReplayStream(trio.abc.Stream):
    """A stream that yields ``buffered`` before reading on from ``inner``, and can be
    corked: while :meth:`corked` is open, writes are collected and leave as one
    ``send_all`` when it closes (one syscall for a burst of frames, not one each)."""

    def __init__(self, inner: trio.abc.Stream, buffered: bytes) -> None:
        self._inner, self._buffered = inner, buffered
        self._cork: bytearray | None = None
        self._write_lock = trio.StrictFIFOLock()  # a flush vs. a write arriving after it

    @contextlib.asynccontextmanager
    async def corked(self) -> AsyncIterator[None]:
        """Collect writes until the block ends, then send them in order.

        Cancellation or an error inside the block drops what was collected (the
        connection is going away); errors of the final write propagate.
        """
        cork = self._cork = bytearray()
        try:
            yield
        finally:
            self._cork = None
        if cork:
            async with self._write_lock:
                await self._inner.send_all(bytes(cork))

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._buffered:
            data, self._buffered = self._buffered, b""
            await trio.lowlevel.checkpoint()
            return data
        return bytes(await self._inner.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._cork is not None:
            self._cork += data
            return
        async with self._write_lock:
            await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._inner.aclose()
