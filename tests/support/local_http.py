"""Real HTTP servers on loopback for tests: a scriptable server and an OpenAI-compatible stub.

Both run ``http.server`` in a thread (real sockets, real clock) and record every request.
Use them as context managers; leaving the block stops the server, releases any request
held by ``hang`` and joins every handler thread (no resource warnings).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import attrs


@attrs.frozen
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@attrs.frozen
class Reply:
    """What to answer: status, headers, body; ``hang`` holds the request until shutdown."""

    status: int = 200
    body: bytes | str = b""
    headers: tuple[tuple[str, str], ...] = ()
    hang: bool = False


Route = Callable[[Recorded], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    route: Route
    stop: threading.Event
    requests: list[Recorded]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = Recorded(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.requests.append(rec)
        reply = self.server.route(rec)
        if reply.hang:
            self.server.stop.wait(30)
            return
        data = reply.body.encode() if isinstance(reply.body, str) else reply.body
        self.send_response(reply.status)
        for k, v in reply.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        return None


class LocalHTTPServer:
    """A threaded HTTP server on ``127.0.0.1`` answering with ``route``."""

    def __init__(self, route: Route | None = None) -> None:
        self.route: Route = route or (lambda rec: Reply(200, b"ok"))
        self.requests: list[Recorded] = []
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def __enter__(self) -> LocalHTTPServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.route = lambda rec: self.route(rec)
        server.stop = self._stop
        server.requests = self.requests
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@attrs.define
class OpenAIStub:
    """Answers ``POST …/chat/completions`` like an OpenAI-compatible server.

    ``answer`` is the assistant's text; ``usage`` the token counts reported; ``status``
    other than 200 answers with an error body; ``hang`` never answers.
    """

    answer: str = "YES, it is ready."
    prompt_tokens: int = 11
    completion_tokens: int = 7
    status: int = 200
    hang: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    def __call__(self, rec: Recorded) -> Reply:
        if not rec.path.endswith("/chat/completions") or rec.method != "POST":
            return Reply(404, b'{"error": "not found"}')
        if self.hang:
            return Reply(hang=True)
        if self.status != 200:
            return Reply(self.status, b'{"error": {"message": "stub error"}}', self.headers)
        request = json.loads(rec.body)
        body = {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "model": request.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
        }
        return Reply(200, json.dumps(body), (("Content-Type", "application/json"),))
