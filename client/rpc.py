"""One JSON-RPC 2.0 connection to the daemon over WebSocket (docs/protocol.md).

:func:`open_connection` connects with a bearer token; :class:`Connection` sends requests
and routes the answers and ``events.*`` notifications back by id and subscription.
Answers are JSON (dicts and lists) here; :class:`~gnomon.client.aio.AsyncClient` types
them. Errors come back as gnomon's own exception classes (``errors.from_wire``); a
connection that drops mid-call is :class:`~gnomon.runtime.errors.DaemonUnreachable`,
never a success. An error answer under no id of ours (``id: null``: the daemon could not
read the request, e.g. a frame over ``gateway.max_message_bytes``) fails the pending
calls it can belong to (:func:`unmatched_owners`) with that error, so no call waits for
an answer that will never come.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import trio
import trio_websocket

from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import (
    DaemonUnreachable,
    GnomonError,
    Refused,
    Unauthorized,
    from_wire,
    sole_error,
)

#: The largest answer read: the daemon pages lists to 1 MiB, but one item (a job with a
#: huge spec, a run with its output) may be larger on its own.
MAX_MESSAGE = 16 << 20
NOTES = (names.EVENTS_NOTIFY, names.EVENTS_LAGGED)
MESSAGE_TOO_BIG = 1009  # WebSocket close code: the peer will not read a frame that large


class Connection:
    """One WebSocket connection; use :func:`open_connection`."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._sizes: dict[int, int] = {}  # the bytes of each pending call's frame
        self._last_id = 0
        self._subs: dict[str, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self._ended: set[str] = set()
        self._closed = False

    async def reader(self) -> None:
        """Route every incoming frame until the connection closes (run it in a nursery);
        then every waiting call and subscription ends."""
        try:
            while True:
                message = json.loads(await self._ws.get_message())
                for item in message if isinstance(message, list) else [message]:
                    self._route(item)
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            self._closed = True
            for chan in [*self._pending.values(), *self._subs.values()]:
                chan.close()

    def _route(self, item: dict[str, Any]) -> None:
        ident = item.get("id")
        if "id" in item and ident in self._pending:
            self._pending.pop(ident).send_nowait(item)
        elif "error" in item and "method" not in item and not self._was_ours(ident):
            for owner in unmatched_owners(item["error"], self._sizes, set(self._pending)):
                self._pending.pop(owner).send_nowait(item)
        elif item.get("method") in NOTES:
            sub = item["params"]["subscription"]
            chan = self._subs.get(sub)
            if chan is not None:
                chan.send_nowait(item["params"])  # unbounded: the daemon bounds what it sends us
            elif sub not in self._ended:  # replay can overtake the answer to events.subscribe
                self._early.setdefault(sub, []).append(item["params"])

    def _was_ours(self, ident: Any) -> bool:
        """Whether ``ident`` is the id of a call of ours that has already ended (its late
        answer, after a cancellation, is dropped)."""
        return isinstance(ident, int) and not isinstance(ident, bool) and 0 < ident <= self._last_id

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call ``method``; its result as JSON.

        Raises:
            GnomonError: the daemon's error, as its class (also one it sent under no id
                that this call can have caused); DaemonUnreachable if the connection drops
                before the answer (Refused ``too_large`` when the daemon closed it because
                a frame was too big for it, WebSocket 1009).

        Cancellation: the answer, if it comes, is dropped.
        """
        if self._closed:
            raise DaemonUnreachable("the connection to the daemon is closed")
        ident = self._last_id = next(self._ids)
        send, recv = trio.open_memory_channel[dict[str, Any]](1)
        frame = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}}
        text = json.dumps(frame)
        self._pending[ident], self._sizes[ident] = send, len(text.encode())
        try:
            await self._ws.send_message(text)
            answer = await recv.receive()
        except (trio.EndOfChannel, trio_websocket.ConnectionClosed):
            raise closed_error(getattr(self._ws, "closed", None), len(text.encode())) from None
        finally:
            self._pending.pop(ident, None)
            self._sizes.pop(ident, None)
        if "error" in answer:
            raise from_wire(answer["error"])
        return answer.get("result")

    async def collect(self, method: str, params: dict[str, Any], key: str) -> list[Any]:
        """Every item of a paged method (``job.list``): the ``key`` list of each page,
        following ``next_cursor`` until it is ``null``.

        Raises:
            GnomonError: as :meth:`call`.
        """
        items: list[Any] = []
        cursor = None
        while True:
            page = await self.call(method, {**params, "cursor": cursor})
            items.extend(page[key])
            cursor = page.get("next_cursor")
            if cursor is None:
                return items

    async def recent_runs(
        self, job_id: str, cycle: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` runs of a job (of one ``cycle``), oldest first
        (``job.logs`` pages go back in time).

        Raises:
            GnomonError: as :meth:`call`.
        """
        pages: list[list[dict[str, Any]]] = []
        cursor, got = None, 0
        while got < limit:
            params = {"ref": job_id, "cycle": cycle, "limit": limit - got, "cursor": cursor}
            page = await self.call(names.JOB_LOGS, params)
            pages.append(page["runs"])
            got += len(page["runs"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        return [run for runs in reversed(pages) for run in runs]

    @asynccontextmanager
    async def subscribe(
        self,
        *,
        types: Sequence[str] = (),
        job: str | None = None,
        since_seq: int | None = None,
        batch: bool = True,
    ) -> AsyncIterator[trio.MemoryReceiveChannel[dict[str, Any]]]:
        """``events.notify``/``events.lagged`` params, as they arrive, one per event (the
        subscription ends with the block; the daemon keeps it until the connection closes).
        With ``batch`` (the default) the daemon may pack the events that are ready together
        into one frame; the reader unpacks it, so nothing changes for the caller.

        Raises:
            GnomonError: as :meth:`call` (a bad type pattern: InvalidInput).
        """
        send, recv = trio.open_memory_channel[dict[str, Any]](math.inf)
        params: dict[str, Any] = {
            "types": list(types),
            "job": job,
            "since_seq": since_seq,
            "batch": batch,
        }
        answer = await self.call(names.EVENTS_SUBSCRIBE, params)
        sub = answer["subscription"]
        for early in self._early.pop(sub, []):
            send.send_nowait(early)
        self._subs[sub] = send
        try:
            yield recv
        finally:
            self._subs.pop(sub, None)
            self._ended.add(sub)


def closed_error(reason: Any, size: int) -> GnomonError:
    """Why a call ended unanswered, from the WebSocket close ``reason`` (if any) and the
    bytes of the call's frame."""
    code = getattr(reason, "code", None)
    if code == MESSAGE_TOO_BIG:
        return Refused(
            "the daemon closed the connection before answering: a request frame was larger "
            f"than it reads (WebSocket 1009, message too big); this one was {size} bytes",
            reason="too_large",
            hint="send less per call (system.hello names max_message_bytes)",
        )
    said = f" (WebSocket {code}{f': {reason.reason}' if reason.reason else ''})" if code else ""
    return DaemonUnreachable(f"the daemon closed the connection before answering{said}")


def unmatched_owners(error: Any, sizes: dict[int, int], pending: set[int]) -> list[int]:
    """The pending calls an error answer under no id of theirs can belong to: those whose
    frame has the ``data.size`` it names (a frame over the daemon's limit), else those
    over the ``data.limit`` it names, else every pending call (the daemon could not read
    one of them and cannot say which)."""
    data = error.get("data") if isinstance(error, dict) else None
    named = data if isinstance(data, dict) else {}
    candidates = sorted(pending)
    size, limit = _count(named.get("size")), _count(named.get("limit"))
    by_size = [i for i in candidates if size is not None and sizes.get(i) == size]
    over = [i for i in candidates if limit is not None and sizes.get(i, 0) > limit]
    return by_size or over or candidates


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def headers_for(
    token: str | None, client: str, extra: Sequence[tuple[bytes, bytes]] = ()
) -> list[tuple[bytes, bytes]]:
    """The upgrade request's headers: the client's name and version, the bearer token."""
    out = [
        (b"x-gnomon-client", client.encode()),
        (b"x-gnomon-client-version", version("gnomon").encode()),
    ]
    if token:
        out.append((b"authorization", f"Bearer {token}".encode()))
    return [*out, *extra]


@asynccontextmanager
async def open_connection(
    url: str,
    token: str | None,
    *,
    client: str = "gnomon-client",
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> AsyncIterator[Connection]:
    """A connection to the daemon at ``url`` (``ws://host:port/ws``), closed with the
    block.

    Raises:
        DaemonUnreachable: nothing answers at ``url``, or it refused the upgrade.
        Unauthorized: the daemon refused the token (HTTP 401/403).
        GnomonError: raised inside the block, as itself (not in an exception group).
    """
    headers = headers_for(token, client, extra_headers)
    try:
        async with trio_websocket.open_websocket_url(
            url, extra_headers=headers, max_message_size=MAX_MESSAGE
        ) as ws:
            conn = Connection(ws)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(conn.reader)
                    yield conn
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise sole_error(group) from None
    except trio_websocket.ConnectionRejected as exc:
        raise rejected(url, exc) from None
    except BrokenPipeError:
        raise  # our stdout closed (`gnomon events | head`), not the daemon's socket
    except (OSError, trio_websocket.HandshakeError) as exc:
        raise DaemonUnreachable(
            f"cannot reach the daemon at {url}: {exc}", hint="gnomon daemon status"
        ) from None


def rejected(target: str, exc: trio_websocket.ConnectionRejected) -> GnomonError:
    """The error for an upgrade the daemon answered with an HTTP status: one line."""
    lines = (exc.body or b"").decode(errors="replace").strip().splitlines()
    body = lines[0] if lines else ""
    status = exc.status_code
    if status == 401:
        return Unauthorized(
            f"unauthorized: {body or 'the daemon refused the token'}",
            hint="check $GNOMON_TOKEN (gnomon token list shows the tokens)",
        )
    if status == 403:
        return Unauthorized(f"refused by the daemon at {target}: {body or 'HTTP 403'}")
    phrase = f"HTTP {status}" + (f": {body}" if body else "")
    return DaemonUnreachable(f"the daemon at {target} refused the connection ({phrase})")
