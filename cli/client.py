"""The CLI's connection to the daemon: JSON-RPC 2.0 over WebSocket.

Finds the daemon through ``--url``/``$GNOMON_URL`` else the home's ``daemon.json``, and
the token through ``$GNOMON_TOKEN`` else the home's ``token`` file. With no daemon
running, starts one detached (one line on stderr) unless ``GNOMON_AUTOSTART=0``. Errors
come back as gnomon's own exception classes, so the CLI exits with their codes; a
connection that drops mid-call is an error, never a success.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import trio
import trio_websocket

from gnomon.runtime import daemonctl
from gnomon.runtime.errors import (
    ActorCrashed,
    AskTimeout,
    Conflict,
    DaemonUnreachable,
    GnomonError,
    InvalidInput,
    NotFound,
    Refused,
    ShuttingDown,
    StoreUnavailable,
    Unauthorized,
    sole_error,
)
from gnomon.runtime.home import Home

#: The largest answer read: the daemon pages lists to 1 MiB, but one item (a job with a
#: huge spec, a run with its output) may be larger on its own.
MAX_MESSAGE = 16 << 20
NO_DAEMON = "no gnomon daemon is running — start one with: gnomon daemon start --detach"
START_TIMEOUT = 20.0


def error_from(err: dict[str, Any]) -> GnomonError:
    """A JSON-RPC error object as gnomon's exception class (exit code per docs/commands.md)."""
    code, message = int(err.get("code", -32603)), str(err.get("message", "error"))
    raw = err.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    hint = data.get("hint")
    if code == -32602:
        exc: GnomonError = InvalidInput(
            message, token=data.get("token"), field=data.get("field"), hint=hint
        )
        exc.message = message  # already carries the accepted forms
        return exc
    if code == -32003:
        return Unauthorized(message, hint=hint)
    if code == -32004:
        return Refused(
            message,
            reason=str(data.get("reason", "refused")),
            retry_after=data.get("retry_after"),
            hint=hint,
        )
    classes: dict[int, type[GnomonError]] = {
        -32001: NotFound,
        -32002: Conflict,
        -32005: AskTimeout,
        -32006: ActorCrashed,
        -32007: ShuttingDown,
        -32008: StoreUnavailable,
    }
    return classes.get(code, GnomonError)(message, hint=hint)


class Client:
    """One WebSocket connection; use :func:`connect`."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._subs: dict[str, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._early: dict[str, list[dict[str, Any]]] = {}
        self._ended: set[str] = set()
        self._closed = False

    async def _reader(self) -> None:
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
        if "id" in item and item["id"] in self._pending:
            self._pending.pop(item["id"]).send_nowait(item)
        elif item.get("method") in ("events.notify", "events.lagged"):
            sub = item["params"]["subscription"]
            chan = self._subs.get(sub)
            if chan is not None:
                chan.send_nowait(item["params"])  # unbounded: the daemon bounds what it sends us
            elif sub not in self._ended:  # replay can overtake the answer to events.subscribe
                self._early.setdefault(sub, []).append(item["params"])

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call ``method``; its result.

        Raises:
            GnomonError: the daemon's error, as its class; DaemonUnreachable if the
                connection drops before the answer.
        """
        if self._closed:
            raise DaemonUnreachable("the connection to the daemon is closed")
        ident = next(self._ids)
        send, recv = trio.open_memory_channel[dict[str, Any]](1)
        self._pending[ident] = send
        frame = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}}
        try:
            await self._ws.send_message(json.dumps(frame))
            answer = await recv.receive()
        except (trio.EndOfChannel, trio_websocket.ConnectionClosed):
            raise DaemonUnreachable("the daemon closed the connection before answering") from None
        finally:
            self._pending.pop(ident, None)
        if "error" in answer:
            raise error_from(answer["error"])
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
            page = await self.call("job.logs", params)
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
        types: tuple[str, ...] = (),
        job: str | None = None,
        since_seq: int | None = None,
    ) -> AsyncIterator[trio.MemoryReceiveChannel[dict[str, Any]]]:
        """``events.notify``/``events.lagged`` params, as they arrive."""
        send, recv = trio.open_memory_channel[dict[str, Any]](math.inf)
        params: dict[str, Any] = {"types": list(types), "job": job, "since_seq": since_seq}
        answer = await self.call("events.subscribe", params)
        sub = answer["subscription"]
        for early in self._early.pop(sub, []):
            send.send_nowait(early)
        self._subs[sub] = send
        try:
            yield recv
        finally:
            self._subs.pop(sub, None)
            self._ended.add(sub)


def endpoint(home: Home, url: str | None) -> tuple[str | None, str | None]:
    """The daemon's URL and the token to present, per the module docstring."""
    url = url or os.environ.get("GNOMON_URL")
    if url is None:
        info = home.read_daemon_json()
        if info is not None and daemonctl.pid_alive(int(info.get("pid", 0))):
            url = str(info.get("url"))
    token = os.environ.get("GNOMON_TOKEN") or home.read_token()
    return url, token


def autostart(home: Home) -> str:
    """Start a detached daemon for ``home`` and wait until it answers; its URL.

    Raises:
        InvalidInput: the home is not a directory.
        DaemonUnreachable: the home cannot be used, or the daemon did not come up (the
            error it logged is the message).
    """
    home.preflight()
    env = {**os.environ, "GNOMON_DETACHED": "1"}
    pid = daemonctl.spawn_detached(daemonctl.daemon_argv(home.root, []), home.log, env)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        info = home.read_daemon_json()
        if info is not None and info.get("pid") == pid:
            print(f"gnomon: started a daemon (pid {pid}, {info['url']})", file=sys.stderr)
            return str(info["url"])
        if not daemonctl.pid_alive(pid):
            break
        time.sleep(0.05)
    reason = daemonctl.start_failure(home.log)  # says what to do: one line
    if reason is None:
        raise DaemonUnreachable(f"could not start a daemon (pid {pid})", hint=f"see {home.log}")
    raise DaemonUnreachable(f"could not start a daemon: {reason}")


@asynccontextmanager
async def connect(
    home: Home,
    url: str | None = None,
    *,
    start: bool = True,
    client: str = "gnomon-cli",
    token: str | None = None,
) -> AsyncIterator[Client]:
    """A connected client (autostarting a daemon unless told not to; see the docstring);
    ``token`` overrides ``$GNOMON_TOKEN`` and the home's token file.

    Raises:
        DaemonUnreachable: no daemon answers (exit 5 with the contract's message).
    """
    target, found = endpoint(home, url)
    token = token or found
    if target is None:
        if not start or os.environ.get("GNOMON_AUTOSTART", "1") == "0":
            raise DaemonUnreachable(NO_DAEMON)
        target = autostart(home)
        token = token or home.read_token()
    headers = [
        (b"x-gnomon-client", client.encode()),
        (b"x-gnomon-client-version", version("gnomon").encode()),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    for name, variable in (
        (b"x-gnomon-parent-job", "GNOMON_JOB_ID"),
        (b"x-gnomon-parent-run", "GNOMON_RUN_ID"),
    ):
        if os.environ.get(variable):  # run by a job (a slash command): record provenance
            headers.append((name, os.environ[variable].encode()))
    try:
        async with trio_websocket.open_websocket_url(
            target, extra_headers=headers, max_message_size=MAX_MESSAGE
        ) as ws:
            conn = Client(ws)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(conn._reader)
                    yield conn
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise sole_error(group) from None
    except trio_websocket.ConnectionRejected as exc:
        raise _rejected(target, exc) from None
    except BrokenPipeError:
        raise  # our stdout closed (`gnomon events | head`), not the daemon's socket
    except (OSError, trio_websocket.HandshakeError) as exc:
        raise DaemonUnreachable(
            f"cannot reach the daemon at {target}: {exc}", hint="gnomon daemon status"
        ) from None


def _rejected(target: str, exc: trio_websocket.ConnectionRejected) -> GnomonError:
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


def request_all(
    home: Home, url: str | None, method: str, params: dict[str, Any], key: str
) -> list[Any]:
    """:meth:`Client.collect` from synchronous CLI code (connect, page through, close).

    Raises:
        GnomonError: the daemon's error as its class.
    """

    async def pages() -> list[Any]:
        async with connect(home, url) as client:
            return await client.collect(method, params, key)

    result: list[Any] = trio.run(pages)
    return result


def request(home: Home, url: str | None, method: str, params: dict[str, Any] | None = None) -> Any:
    """One call from synchronous CLI code: connect (autostarting), call, close; the result.

    Raises:
        GnomonError: the daemon's error as its class (exit code per docs/commands.md).
    """

    async def one() -> Any:
        async with connect(home, url) as client:
            return await client.call(method, params)

    return trio.run(one)
