"""Gateway exposure, attacked on loopback against a real daemon (issue 17, items 5 and 7):
idle unauthenticated WebSockets cannot lock clients out, and a request naming a foreign
``Host`` (DNS rebinding) is refused on every path — while other clients keep being
answered."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import trio
import trio_websocket
from gateway.conftest import LIMITS
from gateway.rawws import Raw, close_code, connect, http_get, raw_upgrade
from support.daemon_proc import RealDaemon, cli_env, gnomon

pytestmark = pytest.mark.slow
AUTH_TIMEOUT = 2.0
ATTACK = 256  # the default gateway.max_connections: the original attack's size


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """A daemon with a short authentication deadline and two configured host names."""
    home = tmp_path_factory.mktemp("exposure") / "home"
    env = cli_env(
        home,
        **LIMITS,
        GNOMON_GATEWAY_AUTH_TIMEOUT=f"{AUTH_TIMEOUT:g}s",
        GNOMON_GATEWAY_ALLOWED_HOSTS="gnomon.internal, tunnel.example:9000",
    )
    running = RealDaemon.start(home, env=env)
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


async def answered(daemon: RealDaemon) -> None:
    """A fresh authenticated client gets its answer (the daemon is not locked out)."""
    async with connect(daemon) as bystander:
        assert (await bystander.result("system.stats"))["uptime"] > 0


async def test_idle_unauthenticated_sockets_do_not_lock_clients_out(daemon: RealDaemon) -> None:
    """256 idle token-less WebSockets: only a quarter of the slots are theirs (the rest get
    503), `daemon ping` and other clients are answered meanwhile, each idle one is closed
    with 1008 after gateway.auth_timeout, and one that said hello in time stays."""
    streams: list[trio.SocketStream] = []
    async with connect(daemon, token=None) as polite:
        await polite.result("system.hello", {"token": daemon.token})
        try:
            statuses, bodies = [], []
            for _ in range(ATTACK):
                status, body, stream = await raw_upgrade(daemon.port)
                statuses.append(status)
                bodies.append(body)
                streams.append(stream)
            held = [s for s, status in zip(streams, statuses, strict=True) if status == 101]
            assert len(held) == ATTACK // 4
            assert statuses.count(503) == ATTACK - len(held)
            refusal = bodies[statuses.index(503)].decode()
            assert "authenticate" in refusal
            assert "Bearer" in refusal
            await answered(daemon)
            ping = await trio.to_thread.run_sync(gnomon, daemon.home, "daemon", "ping")
            assert (ping.code, ping.out.strip()) == (0, "pong"), ping
            assert [await close_code(s) for s in held] == [1008] * len(held)
            assert (await polite.result("system.stats"))["connections"] >= 1
        finally:
            for stream in streams:
                await stream.aclose()
    status, _, stream = await raw_upgrade(daemon.port)  # capacity is back for newcomers
    await stream.aclose()
    assert status == 101


async def test_unauthenticated_socket_that_never_speaks_is_closed(daemon: RealDaemon) -> None:
    """A token-less WebSocket that sends nothing is closed with 1008 after the deadline,
    and one that sends only unauthorised calls too."""
    status, _, silent = await raw_upgrade(daemon.port)
    assert status == 101
    async with connect(daemon, token=None) as chatty:
        assert (await chatty.call("job.get", {"ref": "x"}))["error"]["code"] == -32003
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await _keep_calling(chatty)
        assert closed.value.reason.code == 1008
    try:
        assert await close_code(silent) == 1008
    finally:
        await silent.aclose()


async def _keep_calling(conn: Raw) -> None:
    """Call an unauthorised method every 0.2 s until the connection ends."""
    with trio.fail_after(AUTH_TIMEOUT + 10):
        while True:
            await conn.call("job.get", {"ref": "x"})
            await trio.sleep(0.2)


@pytest.mark.parametrize("path", ["/", "/metrics", "/healthz"])
async def test_foreign_host_refused_on_every_path(daemon: RealDaemon, path: str) -> None:
    """A DNS-rebinding request (foreign Host, right port) gets a one-line 403 naming the
    host and gateway.allowed_hosts; the daemon's own names and configured ones get 200."""
    port = daemon.port
    for host in (f"evil.example:{port}", "evil.example", f"localhost.evil.example:{port}"):
        status, body = await http_get(port, path, host)
        text = body.decode()
        assert status == 403, (host, text)
        assert text.count("\n") == 1
        assert repr(host) in text
        assert "gateway.allowed_hosts" in text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert (await http_get(port, path, host))[0] == 200, host
    assert (await http_get(port, path, f"gnomon.internal:{port}"))[0] == 200
    assert (await http_get(port, path, "tunnel.example:9000"))[0] == 200
    assert (await http_get(port, path, f"127.0.0.1:{port + 1}"))[0] == 403
    await answered(daemon)


async def test_foreign_host_refused_at_the_websocket_upgrade(daemon: RealDaemon) -> None:
    """The /ws upgrade with a foreign Host is refused with 403 even with the right token;
    the same upgrade naming the daemon is accepted."""
    status, body, stream = await raw_upgrade(
        daemon.port, host=f"evil.example:{daemon.port}", token=daemon.token
    )
    await stream.aclose()
    assert status == 403
    assert b"gateway.allowed_hosts" in body
    status, _, stream = await raw_upgrade(daemon.port, token=daemon.token)
    await stream.aclose()
    assert status == 101
    await answered(daemon)


async def test_cli_prints_one_line_when_the_daemon_answers_503(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With every connection slot taken, `daemon ping` exits 5 with one clean line naming
    the refusal (never the raw status/headers tuple)."""
    home = tmp_path_factory.mktemp("full") / "home"
    full = RealDaemon.start(home, env=cli_env(home, GNOMON_GATEWAY_MAX_CONNECTIONS="2"))
    try:
        async with connect(full), connect(full):
            ping = await trio.to_thread.run_sync(gnomon, home, "daemon", "ping")
    finally:
        assert full.stop() == 0
    assert ping.code == 5, ping
    lines = ping.err.strip().splitlines()
    assert len(lines) == 1, ping.err
    assert lines[0].startswith("error: the daemon at ws://127.0.0.1:")
    assert "HTTP 503" in lines[0]
    assert "gateway.max_connections" in lines[0]
    assert "b'" not in lines[0]
    assert "(503," not in lines[0]


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def test_silent_tcp_sockets_are_bounded_and_lock_nobody_out(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """100 TCP connections that never send a request head, against a daemon with
    gateway.max_connections 16 and a long deadline: the daemon holds at most 16 of them
    (its open file descriptors say so; the older ones are pushed out and see EOF) and a
    new client is answered meanwhile."""
    home = tmp_path_factory.mktemp("slowloris") / "home"
    env = cli_env(home, GNOMON_GATEWAY_MAX_CONNECTIONS="16", GNOMON_GATEWAY_AUTH_TIMEOUT="60s")
    daemon = RealDaemon.start(home, env=env)
    silent: list[trio.SocketStream] = []
    try:
        await answered(daemon)
        before = _open_fds(daemon.proc.pid)
        for _ in range(100):
            silent.append(await trio.open_tcp_stream("127.0.0.1", daemon.port))
        await answered(daemon)
        with trio.fail_after(20):  # liveness: the pushed-out sockets are closed by the daemon
            while _open_fds(daemon.proc.pid) > before + 16 + 2:  # noqa: ASYNC110 (polled)
                await trio.sleep(0.05)
        with trio.fail_after(20):
            assert await silent[0].receive_some(1) == b""  # the oldest was pushed out
    finally:
        for stream in silent:
            await stream.aclose()
        assert daemon.stop() == 0
