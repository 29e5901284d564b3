"""One WebSocket connection speaking JSON-RPC 2.0 (docs/protocol.md, docs/architecture.md).

Each request runs as its own task (requests on one connection are concurrent) under a
cancel scope with a deadline; the notification ``$/cancelRequest {"id": …}`` cancels one
(its response is error -32800). Batches run their calls concurrently and answer with one
array. ``events.subscribe`` starts a subscription task that forwards ``events.notify``;
a client too slow to drain the bounded outbound queue gets one ``events.lagged`` for that
subscription and re-subscribes with ``since_seq``. Subscriptions end with the connection.
A client that does not read its answers is pushed back on (see :class:`Session`): the
daemon's memory per connection stays bounded (``runtime/gateway/outbox.py``).
Nothing a client sends can crash the session: every failure becomes a JSON-RPC error.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.event_bus import EventBus, EventFilter
from gnomon.runtime.gateway import openrpc, rpc
from gnomon.runtime.gateway.notify import queue_notes
from gnomon.runtime.gateway.outbox import InFlight, Outbox
from gnomon.runtime.model import wire
from gnomon.runtime.protocol import METHODS, Count
from gnomon.runtime.protocol_access import Caller, Scope
from gnomon.runtime.protocol_events import Subscribed, SubscribeParams, UnsubscribeParams
from gnomon.runtime.protocol_paging import reply_budget
from gnomon.runtime.protocol_system import PROTOCOL_VERSION, Hello, HelloParams

log = logging.getLogger("gnomon.gateway")
Handler = Callable[[Caller, Any], Awaitable[Any]]
Authenticate = Callable[[str, str | None, str | None], Caller | None]
Gate = Callable[[Caller, str], None]


def _open_gate(caller: Caller, method: str) -> None:
    """The default gate: every authenticated call passes."""


#: A frame to send: a response/notification as JSON data, or text already encoded.
Outbound = dict[str, Any] | list[Any] | str


def _text(message: Outbound) -> str:
    if isinstance(message, str):
        return message
    return json.dumps(message, separators=(",", ":"))


#: Frames the writer sends in one go (one socket write for a burst of pipelined answers).
WRITE_BATCH = 64

#: Events a subscription made with ``batch: true`` takes from the bus at a time
#: (its frames may grow to ``outbox.PACK_MOST`` while the writer is busy).
NOTIFY_BATCH = 256
SESSION_METHODS = (
    names.SYSTEM_HELLO,
    names.EVENTS_SUBSCRIBE,
    names.EVENTS_UNSUBSCRIBE,
    names.RPC_DISCOVER,
)


@attrs.frozen(kw_only=True)
class GatewayDeps:
    """What sessions need from the daemon."""

    handlers: Mapping[str, Handler]
    authenticate: Authenticate
    bus: EventBus
    server_version: str
    outbound_queue: int = 512  # frames waiting for a slow client, at most
    outbound_bytes: int = 4 << 20  # and their bytes, about (one larger frame always fits)
    max_inflight: int = 64  # requests of one connection running or waiting to be sent
    request_timeout: float = 600.0
    gate: Gate = _open_gate  # per call, after the scope check: may raise a GnomonError
    max_message_bytes: int = 1 << 20  # larger frames get -32600 (up to the hard cap)


def _encoded(message: Outbound | None) -> str | None:
    return None if message is None else _text(message)


def _fit_batch(texts: list[str], budget: int) -> list[str]:
    """A batch's answers, those past ``budget`` bytes (after the first) replaced by a
    refusal naming their id: no batch answer outgrows what a client reads in one frame."""
    out: list[str] = []
    used = 0
    for text in texts:
        used += len(text) + 1
        if out and used > budget:
            ident = json.loads(text).get("id")
            message = (
                f"this answer ({len(text)} bytes) does not fit in the batch's frame "
                f"({budget} bytes): send the call on its own"
            )
            data = {"kind": "Refused", "reason": "too_large", "retry_after": None}
            text = _text(rpc.error(ident, -32004, message, data))
        out.append(text)
    return out


def _occupies(entry: rpc.RpcRequest | dict[str, Any]) -> bool:
    """Whether a parsed entry takes an in-flight slot (a request other than a cancel)."""
    return isinstance(entry, rpc.RpcRequest) and entry.method != names.CANCEL_REQUEST


class Session:
    """See the module docstring. ``send`` writes text frames, in order (the writer hands
    it every response and notification queued at that moment, up to ``WRITE_BATCH``).

    Backpressure: answers wait in a bounded :class:`Outbox`; a request whose answer finds
    it full waits, and the reader reads no new request while ``max_inflight`` requests of
    this connection are running or waiting there — so a client that pipelines and never
    reads holds a bounded amount of the daemon's memory, and TCP pushes back on it.
    """

    def __init__(
        self,
        deps: GatewayDeps,
        send: Callable[[Sequence[str]], Awaitable[None]],
        caller: Caller | None,
    ) -> None:
        self.deps = deps
        self.id = secrets.token_hex(6)
        self.caller = caller
        self._send = send
        self._out = Outbox(deps.outbound_queue, deps.outbound_bytes)
        self._slots = InFlight(deps.max_inflight)
        self._inflight: dict[rpc.RequestId, trio.CancelScope] = {}
        self._subs: dict[str, trio.CancelScope] = {}
        self._nursery: trio.Nursery | None = None
        self._budget = reply_budget(deps.max_message_bytes)

    async def run(self, frames: Callable[[], Awaitable[str | bytes | None]]) -> None:
        """Serve until ``frames`` returns ``None`` (the connection closed), then end every
        request and subscription of the session."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._writer)
            while True:
                text = await frames()
                if text is None:
                    break
                await self.frame(text)
            nursery.cancel_scope.cancel()

    async def _writer(self) -> None:
        while True:
            await self._send(await self._out.take(WRITE_BATCH))

    async def _queue(self, message: Outbound) -> None:
        """Queue one frame for the writer, waiting while the outbox is full."""
        await self._out.put(_text(message))

    async def frame(self, text: str | bytes) -> None:
        """Handle one incoming frame (never raises for bad input). Waits while the
        connection has ``max_inflight`` requests running or answers it has not read."""
        assert self._nursery is not None
        if isinstance(text, bytes):
            await self._queue(
                rpc.error(None, rpc.INVALID_REQUEST, "binary frames are not JSON-RPC; send text")
            )
            return
        size, limit = len(text.encode()), self.deps.max_message_bytes
        if size > limit:
            message = f"a frame of {size} bytes exceeds gateway.max_message_bytes ({limit})"
            data = {"size": size, "limit": limit}  # under its id when the frame's head has it
            await self._queue(rpc.error(rpc.head_id(text), rpc.INVALID_REQUEST, message, data))
            return
        try:
            entries, batch = rpc.parse(text)
        except rpc.RpcFault as fault:
            await self._queue(rpc.error(None, fault.code, fault.message))
            return
        if batch:
            weight = self._slots.weight(sum(map(_occupies, entries)))
            await self._slots.acquire(weight)
            self._nursery.start_soon(self._batch, entries, weight)
            return
        entry = entries[0]
        if isinstance(entry, dict):
            await self._queue(entry)
        elif not _occupies(entry):  # a cancel never waits behind what it cancels
            answer = await self.call(entry)
            if answer is not None:
                await self._queue(answer)
        else:
            await self._slots.acquire(1)
            self._nursery.start_soon(self._single, entry)

    async def _single(self, req: rpc.RpcRequest) -> None:
        try:
            text = _encoded(await self.call(req))  # only the text waits for the writer
            if text is not None:
                await self._out.put(text)
        finally:
            self._slots.release(1)

    async def _batch(self, entries: list[rpc.RpcRequest | dict[str, Any]], weight: int) -> None:
        texts: list[str | None] = [_text(e) if isinstance(e, dict) else None for e in entries]

        async def one(index: int, req: rpc.RpcRequest) -> None:
            texts[index] = _encoded(await self.call(req))

        try:
            async with trio.open_nursery() as nursery:
                for index, entry in enumerate(entries):
                    if isinstance(entry, rpc.RpcRequest):
                        nursery.start_soon(one, index, entry)
            answered = _fit_batch([t for t in texts if t is not None], self._budget)
            if answered:
                await self._out.put("[" + ",".join(answered) + "]")
        finally:
            self._slots.release(weight)

    async def call(self, req: rpc.RpcRequest) -> dict[str, Any] | None:
        """Run one request; its response, or ``None`` for a notification."""
        if req.method == names.CANCEL_REQUEST:
            ident = req.params.get("id") if isinstance(req.params, dict) else None
            scope = self._inflight.get(ident)
            if scope is not None:
                scope.cancel()
            return None if req.is_notification else rpc.result(req.id, None)
        try:
            value = await self._guarded(req)
        except rpc.RpcFault as fault:
            return (
                None
                if req.is_notification
                else rpc.error(req.id, fault.code, fault.message, fault.data)
            )
        return None if req.is_notification else rpc.result(req.id, value)

    async def _guarded(self, req: rpc.RpcRequest) -> Any:
        scope = trio.CancelScope(deadline=trio.current_time() + self.deps.request_timeout)
        if not req.is_notification:
            self._inflight[req.id] = scope
        try:
            with scope:
                return await self._dispatch(req)
        except rpc.RpcFault:
            raise
        except Exception as exc:
            if not hasattr(exc, "rpc_code"):
                log.exception("method %s failed", req.method)
            raise rpc.fault_of(exc) from None
        finally:
            self._inflight.pop(req.id, None)
        timed_out = trio.current_time() >= scope.deadline  # the scope caught a cancellation
        raise rpc.RpcFault(
            -32005 if timed_out else rpc.CANCELLED,
            "request timed out" if timed_out else "request cancelled by the client",
        )

    async def _dispatch(self, req: rpc.RpcRequest) -> Any:
        method = METHODS.get(req.method)
        if method is None:
            raise rpc.RpcFault(
                rpc.METHOD_NOT_FOUND,
                f"method not found: {req.method!r}",
                {"hint": "rpc.discover lists the methods"},
            )
        if req.method == names.SYSTEM_HELLO:
            return self._hello(wire.structure(req.params, HelloParams))
        caller = self._require(method.scope)
        self.deps.gate(caller, req.method)
        params: Any = wire.structure(req.params or {}, method.params)
        if req.method == names.RPC_DISCOVER:
            return discover()
        if req.method == names.EVENTS_SUBSCRIBE:
            return wire.unstructure(self._subscribe(params))
        if req.method == names.EVENTS_UNSUBSCRIBE:
            return wire.unstructure(self._unsubscribe(params))
        handler = self.deps.handlers.get(req.method)
        if handler is None:
            raise rpc.RpcFault(rpc.METHOD_NOT_FOUND, f"method {req.method!r} is not available")
        return wire.unstructure(await handler(caller, params))

    def _require(self, scope: Scope) -> Caller:
        if self.caller is None:
            raise rpc.RpcFault(
                -32003,
                'unauthorized: send a bearer token or call system.hello with {"token": …} first',
            )
        if not self.caller.may(scope):
            kind = {"job": "job credential", "login": "login ticket"}.get(
                self.caller.via, self.caller.via
            )
            raise rpc.RpcFault(
                -32003,
                f"unauthorized: this {kind}'s scope is {self.caller.scope}, "
                f"the method needs {scope}",
            )
        return self.caller

    def _hello(self, params: HelloParams) -> Any:
        caller = self.caller
        if params.token is not None:
            caller = self.deps.authenticate(params.token, params.client, params.client_version)
            if caller is None:
                raise rpc.RpcFault(-32003, "unauthorized: unknown or revoked token")
        if caller is None:
            raise rpc.RpcFault(-32003, "unauthorized: system.hello needs a token")
        self.deps.gate(caller, names.SYSTEM_HELLO)  # a revoked parent, agents switched off
        self.caller = caller
        return wire.unstructure(
            Hello(
                server_version=self.deps.server_version,
                protocol_version=PROTOCOL_VERSION,
                session_id=self.id,
                scope=self.caller.scope,
                agent=self.caller.agent,
                max_message_bytes=self.deps.max_message_bytes,
            )
        )

    # -- subscriptions ------------------------------------------------------------------

    def _still_allowed(self) -> bool:
        """Whether the gate still lets this session's caller read events."""
        if self.caller is None:
            return False
        try:
            self.deps.gate(self.caller, names.EVENTS_SUBSCRIBE)
        except GnomonError:
            return False
        return True

    def _subscribe(self, params: SubscribeParams) -> Subscribed:
        assert self._nursery is not None
        sub_id = f"sub-{secrets.token_hex(4)}"
        scope = trio.CancelScope()
        self._subs[sub_id] = scope
        flt = EventFilter(types=params.types, job_id=params.job)
        self._nursery.start_soon(self._forward, sub_id, flt, params.since_seq, scope, params.batch)
        return Subscribed(subscription=sub_id)

    def _unsubscribe(self, params: UnsubscribeParams) -> Count:
        scope = self._subs.pop(params.subscription, None)
        if scope is not None:
            scope.cancel()
        return Count(count=0 if scope is None else 1)

    async def _forward(
        self,
        sub_id: str,
        flt: EventFilter,
        since: int | None,
        scope: trio.CancelScope,
        batch: bool,
    ) -> None:
        last = since or 0
        with scope:
            async with self.deps.bus.subscribe(flt, since_seq=since) as events:
                async for first in events:
                    if not self._still_allowed():
                        return  # its token was revoked, or agents were switched off
                    items = [first, *events.ready(NOTIFY_BATCH - 1)] if batch else [first]
                    last, lagged = queue_notes(self._out, sub_id, items, last, batch)
                    if lagged:
                        break  # lagged on the bus, or the client reads too slowly
                else:
                    return
            lagged_note = rpc.notification(
                names.EVENTS_LAGGED, {"subscription": sub_id, "resume_from": last}
            )
            await self._queue(lagged_note)
        self._subs.pop(sub_id, None)


@functools.cache
def discover() -> dict[str, Any]:
    """``rpc.discover``: the protocol as an OpenRPC document (runtime/gateway/openrpc.py,
    the same as docs/openrpc.json), built once."""
    return openrpc.document()
