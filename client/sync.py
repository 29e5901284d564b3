"""The blocking client, for scripts: each call connects, calls and closes
(docs/client.md). Not for use inside trio code (use :class:`~gnomon.client.AsyncClient`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import trio

from gnomon.client.aio import AsyncClient
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.protocol_events import EventsResult
from gnomon.runtime.protocol_jobs import JobDetail, JobsResult, JobView, RunView
from gnomon.runtime.protocol_system import Health

T = TypeVar("T")


class Client:
    """The daemon at ``url`` with ``token`` (defaults: :func:`gnomon.client.aio.endpoint`);
    every method is :class:`~gnomon.client.AsyncClient`'s, blocking.

    Each call opens its own connection (a WebSocket handshake on localhost: a
    millisecond or two); errors are gnomon's exception classes, as in the async client.
    Ctrl-C cancels the call in flight.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        home: str | None = None,
        client: str = "gnomon-client",
    ) -> None:
        self.url, self.token, self.home, self.client = url, token, home, client

    def _run(self, use: Callable[[AsyncClient], Awaitable[T]]) -> T:
        async def once() -> T:
            async with AsyncClient.connect(
                self.url, token=self.token, home=self.home, client=self.client
            ) as c:
                return await use(c)

        return trio.run(once)

    def call(self, method: str, params: Any = None) -> Any:
        """See :meth:`AsyncClient.call`."""
        return self._run(lambda c: c.call(method, params))

    def health(self) -> Health:
        return self._run(lambda c: c.health())

    def create(self, spec: JobSpec, *, replace: bool = False) -> JobView:
        return self._run(lambda c: c.create(spec, replace=replace))

    def get(self, ref: str) -> JobDetail:
        return self._run(lambda c: c.get(ref))

    def jobs(
        self, *, all: bool = False, tags: Sequence[str] = (), name: str | None = None
    ) -> list[JobView]:
        return self._run(lambda c: c.jobs(all=all, tags=tags, name=name))

    def logs(self, ref: str, *, limit: int = 100) -> list[RunView]:
        return self._run(lambda c: c.logs(ref, limit=limit))

    def cancel(self, *refs: str, reason: str = "") -> JobsResult:
        return self._run(lambda c: c.cancel(*refs, reason=reason))

    def pause(self, *refs: str, reason: str = "") -> JobsResult:
        return self._run(lambda c: c.pause(*refs, reason=reason))

    def resume(self, *refs: str) -> JobsResult:
        return self._run(lambda c: c.resume(*refs))

    def run(self, ref: str) -> JobView:
        return self._run(lambda c: c.run(ref))

    def events(
        self, *, since_seq: int = 0, job: str | None = None, types: Sequence[str] = ()
    ) -> EventsResult:
        return self._run(lambda c: c.events(since_seq=since_seq, job=job, types=types))

    def wait(self, ref: str, *, timeout: float | None = None) -> JobView:
        return self._run(lambda c: c.wait(ref, timeout=timeout))
