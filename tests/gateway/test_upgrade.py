"""The WebSocket upgrade at /ws: a bad token and a foreign Origin are refused before any
JSON-RPC; the daemon's own origin and token-less CLI upgrades are let in."""

from __future__ import annotations

import pytest
import trio_websocket
from gateway.rawws import connect, error_of
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow


async def refused_with(daemon: RealDaemon, token: str | None, origin: str | None) -> int:
    """The HTTP status that refused the upgrade."""
    with pytest.raises(trio_websocket.ConnectionRejected) as rejected:
        async with connect(daemon, token=token, origin=origin):
            pass
    return rejected.value.status_code


@pytest.mark.parametrize("truncate", [False, True], ids=["unknown", "admin-prefix"])
async def test_bad_token_refused(daemon: RealDaemon, truncate: bool) -> None:
    """A bearer token that is not the daemon's (even a prefix of it) gets 401 at the
    upgrade."""
    token = daemon.token[:-1] if truncate else "wrong-token"
    assert await refused_with(daemon, token, None) == 401


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:1", "null", "https://localhost"]
)
async def test_foreign_origin_refused(daemon: RealDaemon, origin: str) -> None:
    """An Origin other than the daemon's own gets 403, even with the right token."""
    assert await refused_with(daemon, "", origin) == 403


async def test_own_origin_accepted_and_others_unaffected(daemon: RealDaemon) -> None:
    """The daemon's own origin (its HTTP address) may upgrade; refusals elsewhere leave an
    open connection working."""
    async with connect(daemon) as bystander:
        await refused_with(daemon, "wrong-token", None)
        await refused_with(daemon, "", "http://evil.example")
        async with connect(daemon, origin=daemon.http.rstrip("/")) as browser:
            assert (await browser.result("system.health"))["ok"]
        assert (await bystander.result("system.health"))["ok"]


async def test_no_token_needs_hello(daemon: RealDaemon) -> None:
    """An upgrade without a token is accepted, but methods answer -32003 until hello."""
    async with connect(daemon, token=None) as conn:
        error_of(await conn.call("job.list"), -32003)
        await conn.result("system.hello", {"token": daemon.token})
        assert isinstance((await conn.result("job.list"))["jobs"], list)
