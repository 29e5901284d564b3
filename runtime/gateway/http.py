"""The front door: one port for HTTP (``/``, ``/static/…``, ``/metrics``, ``/healthz``) and
the WebSocket gateway (``/ws``).

trio-websocket answers a plain GET with an empty 400 before any handler runs, so the
request head is read first with h11 (``http_wire.py``); an ``Upgrade: websocket``
request is handed to ``trio_websocket.wrap_server_stream`` over a stream that first
replays the bytes already read (docs/architecture.md, verified). Every connection handler
catches everything: one failing connection never affects another, and ``serve_listeners``
(which does not catch handler errors) never sees one.

Abuse limits (docs/security.md, "Gateway exposure"): every request must name the daemon in
its ``Host`` header (``hosts.py``), else 403; a connection must send its request head
within ``gateway.auth_timeout``, and a WebSocket without a bearer token must say
``system.hello`` with a token within that time too, else it is closed (1008); such
connections may hold only a quarter of ``gateway.max_connections``, so the rest stays
reserved for authenticated clients.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib.resources import files
from typing import Any

import attrs
import h11
import trio
import trio_websocket
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from gnomon.runtime.gateway.hosts import AllowedHosts
from gnomon.runtime.gateway.http_wire import ReplayStream, header, read_request_head, respond
from gnomon.runtime.gateway.login import LoginStore
from gnomon.runtime.gateway.session import GatewayDeps, Session
from gnomon.runtime.protocol_access import Caller

log = logging.getLogger("gnomon.gateway")
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
#: The page may talk to the daemon only (the dashboard works offline), never be framed.
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@attrs.frozen(kw_only=True)
class FrontDoorDeps:
    """Everything the front door serves."""

    gateway: GatewayDeps
    registry: CollectorRegistry
    health: Callable[[], Awaitable[dict[str, Any]]]
    origins: Callable[[], frozenset[str]]
    hosts: Callable[[], AllowedHosts]  # the Host headers answered (hosts.py)
    max_message_bytes: int = 1 << 20
    max_connections: int = 256
    auth_timeout: float = 5.0  # to send a request head, and to authenticate after it
    on_connections: Callable[[int], None] = lambda n: None
    login: LoginStore | None = None  # dashboard tickets and session tokens (login.py)


# Frames up to this many times gateway.max_message_bytes are read and answered with a
# JSON-RPC error; anything larger closes the connection with 1009 before it is buffered.
HARD_CAP_FACTOR = 4
# Connections not yet authenticated may hold at most this share of max_connections: the
# rest stays reserved for clients that authenticated (a bearer token, or system.hello).
UNAUTHENTICATED_SHARE = 4
POLICY_VIOLATION = 1008  # WebSocket close code


@attrs.define(eq=False)
class _Slot:
    """One admitted WebSocket connection: authenticated by its bearer token, or once its
    session has a caller (``system.hello``)."""

    bearer: bool
    session: Session | None = None

    @property
    def authenticated(self) -> bool:
        return self.bearer or (self.session is not None and self.session.caller is not None)


class FrontDoor:
    """Serves one listener set; see the module docstring."""

    def __init__(self, deps: FrontDoorDeps) -> None:
        if deps.login is not None:
            gateway = attrs.evolve(
                deps.gateway,
                handlers={**deps.gateway.handlers, **deps.login.handlers()},
                authenticate=deps.login.wrap(deps.gateway.authenticate),
            )
            deps = attrs.evolve(deps, gateway=gateway)
        self.deps = deps
        self._slots: set[_Slot] = set()
        #: connections still sending their request head, oldest first (see _read_head)
        self._heads: dict[trio.CancelScope, None] = {}

    @property
    def connections(self) -> int:
        """Open WebSocket connections."""
        return len(self._slots)

    @property
    def unauthenticated(self) -> int:
        """Open WebSocket connections that have not authenticated yet."""
        return sum(not slot.authenticated for slot in self._slots)

    @property
    def unauthenticated_cap(self) -> int:
        return max(1, self.deps.max_connections // UNAUTHENTICATED_SHARE)

    async def handle(self, stream: trio.abc.Stream) -> None:
        """Serve one TCP connection; never raises (except cancellation)."""
        try:
            head = await self._read_head(stream)
            if head is not None:
                request, buffered = head
                host, rule = header(request, b"host"), self.deps.hosts()
                if not rule.allows(host):
                    body = rule.refusal(host).encode("ascii", "backslashreplace") + b"\n"
                    await respond(stream, 403, body, "text/plain")
                elif header(request, b"upgrade").lower() == "websocket":
                    await self._websocket(stream, request, buffered)
                else:
                    await self._http(stream, request)
        except Exception:
            log.exception("connection failed")
        finally:
            with trio.move_on_after(1):
                await stream.aclose()

    async def _read_head(self, stream: trio.abc.Stream) -> tuple[h11.Request, bytes] | None:
        """The request head, or ``None`` (closed, malformed, too slow, or pushed out).

        At most ``max_connections`` connections may be sending their head at once; a new
        one pushes out the oldest (a client sends its head at once, so the oldest is the
        likeliest to be a socket held open on purpose: holding sockets open then cannot
        lock new clients out, nor run the daemon out of file descriptors).
        """
        while len(self._heads) >= self.deps.max_connections:
            oldest = next(iter(self._heads))
            oldest.cancel()
            del self._heads[oldest]
        scope = trio.move_on_after(self.deps.auth_timeout)
        self._heads[scope] = None
        try:
            return await read_request_head(stream, scope)
        finally:
            self._heads.pop(scope, None)

    # -- plain HTTP ---------------------------------------------------------------------

    async def _http(self, stream: trio.abc.Stream, request: h11.Request) -> None:
        path = request.target.decode("latin-1").split("?", 1)[0]
        if request.method not in (b"GET", b"HEAD"):
            await respond(stream, 405, b"only GET here\n", "text/plain", [(b"allow", b"GET")])
        elif path == "/metrics":
            encoder, content_type = choose_encoder(header(request, b"accept"))
            await respond(stream, 200, encoder(self.deps.registry), content_type)
        elif path == "/healthz":
            report = await self.deps.health()
            body = json.dumps(report, indent=2).encode() + b"\n"
            await respond(stream, 200 if report.get("ok") else 503, body, "application/json")
        elif path in ("/", "/index.html") or path.startswith("/static/"):
            await self._static(stream, "index.html" if path in ("/", "/index.html") else path[8:])
        else:
            await respond(stream, 404, b"not found\n", "text/plain")

    async def _static(self, stream: trio.abc.Stream, name: str) -> None:
        if "/" in name or name.startswith(".") or not name:
            await respond(stream, 404, b"not found\n", "text/plain")
            return
        resource = files(__package__).joinpath("static", name)
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if not resource.is_file() or suffix not in STATIC_TYPES:
            await respond(stream, 404, b"not found\n", "text/plain")
            return
        extra = [(b"cache-control", b"no-cache"), (b"x-content-type-options", b"nosniff")]
        extra += [(b"content-security-policy", CSP), (b"referrer-policy", b"no-referrer")]
        await respond(stream, 200, resource.read_bytes(), STATIC_TYPES[suffix], extra)

    # -- WebSocket ----------------------------------------------------------------------

    def _authenticate(self, request: h11.Request) -> tuple[Caller | None, bool]:
        auth = header(request, b"authorization")
        if not auth:
            return None, True
        kind, _, token = auth.partition(" ")
        if kind.lower() != "bearer" or not token:
            return None, False
        client = header(request, b"x-gnomon-client") or None
        version = header(request, b"x-gnomon-client-version") or None
        caller = self.deps.gateway.authenticate(token.strip(), client, version)
        parent = header(request, b"x-gnomon-parent-job")
        if caller is not None and parent:  # provenance only: authority is the token's
            run = header(request, b"x-gnomon-parent-run") or None
            caller = attrs.evolve(caller, parent_job=parent, parent_run=run)
        return caller, caller is not None

    async def _websocket(
        self, stream: trio.abc.Stream, request: h11.Request, buffered: bytes
    ) -> None:
        path = request.target.decode("latin-1").split("?", 1)[0]
        origin = header(request, b"origin")
        if path != "/ws":
            await respond(stream, 404, b"the WebSocket endpoint is /ws\n", "text/plain")
            return
        if origin and origin not in self.deps.origins():
            await respond(stream, 403, b"foreign origin refused\n", "text/plain")
            return
        caller, ok = self._authenticate(request)
        if not ok:
            await respond(stream, 401, b"unknown or revoked token\n", "text/plain")
            return
        refusal = self._admission(caller is not None)
        if refusal:
            await respond(stream, 503, refusal.encode() + b"\n", "text/plain")
            return
        slot = _Slot(bearer=caller is not None)
        self._slots.add(slot)
        self.deps.on_connections(self.connections)
        try:
            await self._serve_ws(stream, buffered, slot, caller)
        finally:
            self._slots.discard(slot)
            self.deps.on_connections(self.connections)

    def _admission(self, bearer: bool) -> str:
        """Why a new connection is refused (503), or ``""`` to let it in: the connection
        cap, and for a connection without a bearer token its own smaller cap."""
        limit = self.deps.max_connections
        if self.connections >= limit:
            return f"too many connections: {self.connections} open (gateway.max_connections)"
        if not bearer and self.unauthenticated >= self.unauthenticated_cap:
            return (
                f"too many connections waiting to authenticate ({self.unauthenticated}); "
                "send Authorization: Bearer TOKEN with the upgrade"
            )
        return ""

    async def _serve_ws(
        self, stream: trio.abc.Stream, buffered: bytes, slot: _Slot, caller: Caller | None
    ) -> None:
        async with trio.open_nursery() as nursery:
            replay = ReplayStream(stream, buffered)
            ws_request = await trio_websocket.wrap_server_stream(
                nursery,
                replay,
                max_message_size=HARD_CAP_FACTOR * self.deps.max_message_bytes,
            )
            ws = await ws_request.accept()

            async def frames() -> str | bytes | None:
                try:
                    message: str | bytes = await ws.get_message()
                except trio_websocket.ConnectionClosed:
                    return None
                return message

            async def send(texts: Sequence[str]) -> None:
                # a corked burst meets a closed socket in its own write, not trio_websocket's
                gone = (trio_websocket.ConnectionClosed, trio.BrokenResourceError)
                with contextlib.suppress(*gone, trio.ClosedResourceError):
                    if len(texts) == 1:
                        await ws.send_message(texts[0])
                        return
                    async with replay.corked():
                        for text in texts:
                            await ws.send_message(text)

            session = slot.session = Session(self.deps.gateway, send, caller)
            with trio.CancelScope() as serving:
                if caller is None:
                    nursery.start_soon(self._auth_deadline, session, serving)
                await session.run(frames)
            code, reason = 1000, None
            if serving.cancelled_caught:
                timeout = self.deps.auth_timeout
                code, reason = POLICY_VIOLATION, f"not authenticated within {timeout:g} s"
            with trio.move_on_after(1):
                await ws.aclose(code, reason)
            nursery.cancel_scope.cancel()

    async def _auth_deadline(self, session: Session, serving: trio.CancelScope) -> None:
        """End ``session`` if it has not authenticated within ``auth_timeout``."""
        await trio.sleep(self.deps.auth_timeout)
        if session.caller is None:
            serving.cancel()


async def serve(
    door: FrontDoor,
    host: str,
    port: int,
    *,
    ssl_context: Any = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on ``host:port`` (0 picks a port) and serve until cancelled.

    ``task_status.started`` receives the bound port.
    """
    listeners: list[trio.abc.Listener[Any]] = list(await trio.open_tcp_listeners(port, host=host))
    if ssl_context is not None:
        listeners = [trio.SSLListener(lst, ssl_context, https_compatible=True) for lst in listeners]
    bound = _port_of(listeners[0])
    task_status.started(bound)
    await trio.serve_listeners(door.handle, listeners)


def _port_of(listener: trio.abc.Listener[Any]) -> int:
    inner: Any = getattr(listener, "transport_listener", listener)
    return int(inner.socket.getsockname()[1])
