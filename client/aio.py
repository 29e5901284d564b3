"""The async client, for trio code: typed calls over one connection (docs/client.md).

Every method sends the protocol's params type and returns its result type — the ones
the method table (:data:`gnomon.runtime.protocol.METHODS`) names — structured by the wire
converter; errors are gnomon's exception classes (``runtime/errors.py``, ``RPC_ERRORS``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import attrs
import trio

from gnomon.client.rpc import Connection, open_connection
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import DaemonUnreachable, InvalidInput
from gnomon.runtime.home import Home, resolve_home
from gnomon.runtime.model import wire
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.protocol import METHODS
from gnomon.runtime.protocol_events import EventsParams, EventsResult
from gnomon.runtime.protocol_jobs import (
    CreateParams,
    JobDetail,
    JobPage,
    JobsResult,
    JobView,
    ListParams,
    LogsParams,
    RefParams,
    RunsPage,
    RunView,
    SelectParams,
)
from gnomon.runtime.protocol_system import Health

NO_DAEMON = "no gnomon daemon is running — start one with: gnomon daemon start --detach"


def endpoint(
    url: str | None = None, token: str | None = None, home: str | None = None
) -> tuple[str, str | None]:
    """The daemon's URL and the token to present: the arguments, else ``$GNOMON_URL`` and
    ``$GNOMON_TOKEN``, else the home's ``daemon.json`` and ``token`` (the home: ``home``,
    else ``$GNOMON_HOME``, else ``~/.local/share/gnomon``).

    Raises:
        DaemonUnreachable: no URL anywhere (no daemon runs for that home).
    """
    where = Home(resolve_home(home))
    url = url or os.environ.get("GNOMON_URL")
    if url is None:
        info = where.read_daemon_json() or {}
        url = str(info["url"]) if info.get("url") else None
    if url is None:
        raise DaemonUnreachable(NO_DAEMON, hint=f"no daemon.json in {where.root}")
    return url, token or os.environ.get("GNOMON_TOKEN") or where.read_token()


class AsyncClient:
    """One connection to the daemon; use :meth:`connect`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn  # the JSON level: call, collect, subscribe

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str | None = None,
        *,
        token: str | None = None,
        home: str | None = None,
        client: str = "gnomon-client",
    ) -> AsyncIterator[AsyncClient]:
        """A client connected for the block (see :func:`endpoint` for the defaults).

        Raises:
            DaemonUnreachable: no daemon answers. Unauthorized: the token is refused.
        """
        target, secret = endpoint(url, token, home)
        async with open_connection(target, secret, client=client) as conn:
            yield cls(conn)

    async def call(self, method: str, params: Any = None) -> Any:
        """``method`` with ``params`` (its params type, a dict, or ``None``); the result
        as the table's result type.

        Raises:
            InvalidInput: an unknown method. GnomonError: the daemon's error, as its class.
        """
        entry = METHODS.get(method)
        if entry is None:
            raise InvalidInput(f"unknown method {method!r}", token=method, accepted=list(METHODS))
        raw = params if isinstance(params, dict | None) else wire.unstructure(params)
        return wire.structure(await self.conn.call(method, raw), entry.result)

    async def health(self) -> Health:
        """``system.health``: the store, the supervisor tree, the fire lag."""
        return cast("Health", await self.call(names.SYSTEM_HEALTH))

    async def create(self, spec: JobSpec, *, replace: bool = False) -> JobView:
        """``job.create``: admit ``spec`` (build one with :func:`gnomon.client.job_spec`).

        Raises:
            InvalidInput, Conflict, Refused: admission's verdict, naming the bad part.
        """
        return cast(
            "JobView", await self.call(names.JOB_CREATE, CreateParams(spec=spec, replace=replace))
        )

    async def get(self, ref: str) -> JobDetail:
        """``job.get``: the job (id, prefix or name), its last runs, transitions, next fires.

        Raises:
            NotFound: no such job.
        """
        return cast("JobDetail", await self.call(names.JOB_GET, RefParams(ref=ref)))

    async def jobs(
        self, *, all: bool = False, tags: Sequence[str] = (), name: str | None = None
    ) -> list[JobView]:
        """``job.list``, every page: live jobs (``all``: finished ones too)."""
        out: list[JobView] = []
        params = ListParams(all=all, tags=tuple(tags), name=name)
        while True:
            page = cast("JobPage", await self.call(names.JOB_LIST, params))
            out.extend(page.jobs)
            if page.next_cursor is None:
                return out
            params = attrs.evolve(params, cursor=page.next_cursor)

    async def logs(self, ref: str, *, limit: int = 100) -> list[RunView]:
        """``job.logs``: the job's newest ``limit`` runs (up to one page), oldest first.

        Raises:
            NotFound: no such job.
        """
        page = cast("RunsPage", await self.call(names.JOB_LOGS, LogsParams(ref=ref, limit=limit)))
        return list(page.runs)

    async def cancel(self, *refs: str, reason: str = "") -> JobsResult:
        """``job.cancel`` the jobs named (killing their runs)."""
        return cast(
            "JobsResult", await self.call(names.JOB_CANCEL, SelectParams(refs=refs, reason=reason))
        )

    async def pause(self, *refs: str, reason: str = "") -> JobsResult:
        """``job.pause`` the jobs named."""
        return cast(
            "JobsResult", await self.call(names.JOB_PAUSE, SelectParams(refs=refs, reason=reason))
        )

    async def resume(self, *refs: str) -> JobsResult:
        """``job.resume`` the paused jobs named."""
        return cast("JobsResult", await self.call(names.JOB_RESUME, SelectParams(refs=refs)))

    async def run(self, ref: str) -> JobView:
        """``job.run``: fire now, outside the schedule."""
        return cast("JobView", await self.call(names.JOB_RUN, RefParams(ref=ref)))

    async def events(
        self, *, since_seq: int = 0, job: str | None = None, types: Sequence[str] = ()
    ) -> EventsResult:
        """``events.list``: one page of committed events after ``since_seq``."""
        params = EventsParams(since_seq=since_seq, job=job, types=tuple(types))
        return cast("EventsResult", await self.call(names.EVENTS_LIST, params))

    async def wait(self, ref: str, *, timeout: float | None = None) -> JobView:
        """Wait until the job is finished (a terminal status); its view then. A recurring
        job finishes only when it is cancelled or its budget ends.

        Raises:
            NotFound: no such job.
            TimeoutError: still not finished after ``timeout`` seconds.
            DaemonUnreachable: the connection dropped.

        Cancellation: the subscription ends; the job is not touched.
        """
        job = (await self.get(ref)).job
        try:
            with trio.fail_after(timeout if timeout is not None else float("inf")):
                return await self._until_finished(job)
        except trio.TooSlowError:
            raise TimeoutError(f"job {job.name} ({job.id}) unfinished after {timeout:g}s") from None

    async def _until_finished(self, job: JobView) -> JobView:
        while True:  # a lagged subscription is ended by the daemon: subscribe again
            async with self.conn.subscribe(job=job.id) as notes:
                while True:
                    job = (await self.get(job.id)).job  # first: it may have ended already
                    if job.status.terminal:
                        return job
                    try:
                        note = await notes.receive()
                    except trio.EndOfChannel:
                        raise DaemonUnreachable("the daemon closed the connection") from None
                    if "resume_from" in note:
                        break
