"""The CLI's connection to the daemon: gnomon.client's JSON-RPC connection, found and
autostarted the CLI's way.

Finds the daemon through ``--url``/``$GNOMON_URL`` else the home's ``daemon.json``, and
the token through ``$GNOMON_TOKEN`` else the home's ``token`` file. With no daemon
running, starts one detached (one line on stderr) unless ``GNOMON_AUTOSTART=0``. Errors
come back as gnomon's own exception classes, so the CLI exits with their codes; a
connection that drops mid-call is an error, never a success.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from gnomon.client.rpc import Connection, open_connection
from gnomon.runtime import daemonctl
from gnomon.runtime.errors import DaemonUnreachable
from gnomon.runtime.home import Home

#: The CLI's name for a connection (gnomon.client's): ``call``, ``collect``,
#: ``recent_runs``, ``subscribe``.
Client = Connection
NO_DAEMON = "no gnomon daemon is running — start one with: gnomon daemon start --detach"
START_TIMEOUT = 20.0


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
    extra = [
        (name, os.environ[variable].encode())
        for name, variable in (
            (b"x-gnomon-parent-job", "GNOMON_JOB_ID"),
            (b"x-gnomon-parent-run", "GNOMON_RUN_ID"),
        )
        if os.environ.get(variable)  # run by a job (a slash command): record provenance
    ]
    async with open_connection(target, token, client=client, extra_headers=extra) as conn:
        yield conn


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
