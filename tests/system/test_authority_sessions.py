"""Sessions and login tickets carry the token they came from (issue 17, item 1), against a
real daemon over real WebSockets: a token caller cannot mint a session, a session dies
with its token (open connections too), is never broader than it, and rotating the admin
token ends every dashboard session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from gateway.rawws import connect, error_of
from support.authority import (
    admin,
    as_token,
    hello,
    login_ticket,
    new_token,
    result,
    rpc,
    session_of,
    spec,
)
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """One daemon for the module; it must stop cleanly."""
    home = tmp_path_factory.mktemp("sessions") / "home"
    running = RealDaemon.start(home)
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


async def test_the_original_attack_an_agent_cannot_mint_a_session(daemon: RealDaemon) -> None:
    """An agent token (max 2 jobs, no shell) asking system.session is refused -32003 naming
    why; so is a write token; nothing was created."""
    agent, _ = new_token(daemon, "sess-agent", "--agent", "--max-jobs", "2", "--no-shell")
    writer, _ = new_token(daemon, "sess-writer")
    for token in (agent, writer):
        answer = await rpc(daemon, "system.session", {}, token)
        message = error_of(answer, -32003)["message"]
        assert "system.session is for dashboard logins" in message, message
        assert "authenticated with a token" in message
    assert admin(daemon, "jobs", "list", "--owner", "agent:sess-agent", "--json").json() == []


async def test_an_agent_gets_no_hello_while_switched_off_or_once_revoked(
    daemon: RealDaemon,
) -> None:
    """system.hello with an agent token answers -32004 agents_disabled while agents are
    off (its job stays paused), and -32003 once the token is revoked."""
    agent, agent_id = new_token(daemon, "sess-hello", "--agent")
    job = spec("sess-hello-1", every="1h", do="noop")
    made = await result(daemon, "job.create", {"spec": job}, agent)
    assert admin(daemon, "agents", "off").code == 0
    try:
        async with connect(daemon, token=None) as conn:
            off = error_of(await hello(conn, agent), -32004)
            assert off["data"]["reason"] == "agents_disabled", off
        assert (await result(daemon, "job.get", {"ref": made["id"]}))["job"]["status"] == "paused"
    finally:
        assert admin(daemon, "agents", "on").code == 0
    assert admin(daemon, "token", "revoke", agent_id).code == 0
    async with connect(daemon, token=None) as conn:
        error_of(await hello(conn, agent), -32003)
    admin(daemon, "jobs", "cancel", made["id"])


async def test_a_session_dies_with_its_token_on_open_connections_too(daemon: RealDaemon) -> None:
    """A session bought with a ticket of an admin-scope book token works until that token is
    revoked; then the open connection's next call, a new hello, a renewal and an unspent
    ticket of it are all refused -32003, and no job is created."""
    ops, ops_id = new_token(daemon, "sess-ops", "--scope", "admin")
    ticket = (await result(daemon, "system.login_url", {"scope": "write"}, ops))["ticket"]
    spare = (await result(daemon, "system.login_url", {"scope": "write"}, ops))["ticket"]
    session = await session_of(daemon, ticket)
    async with connect(daemon, token=None) as open_conn:
        assert (await hello(open_conn, session))["result"]["scope"] == "write"
        made = await open_conn.result("job.create", {"spec": spec("sess-before", do="noop")})
        assert made["created_by"]["token_id"] == ops_id
        assert made["created_by"]["scope"] == "write"
        assert admin(daemon, "token", "revoke", "sess-ops").code == 0
        late = await open_conn.call("job.create", {"spec": spec("sess-after", do="noop")})
        message = error_of(late, -32003)["message"]
        assert f"the token this session credential came from ({ops_id}) was revoked" in message
        renew = await open_conn.call("system.session", {})
        error_of(renew, -32003)
    async with connect(daemon, token=None) as conn:
        error_of(await hello(conn, session), -32003)
    async with connect(daemon, token=None) as conn:
        error_of(await hello(conn, spare), -32003)
    names = [j["name"] for j in admin(daemon, "jobs", "list", "--all", "--json").json()]
    assert "sess-after" not in names


async def test_a_session_is_never_broader_than_its_login(daemon: RealDaemon) -> None:
    """A write dashboard session (and the session it renews) cannot call admin methods,
    a read one cannot create; both name their scope."""
    write = await session_of(daemon, login_ticket(daemon))
    async with connect(daemon, token=None) as conn:
        assert (await hello(conn, write))["result"]["scope"] == "write"
        renewed = (await conn.result("system.session", {}))["session"]
        assert (await hello(conn, renewed))["result"]["scope"] == "write"
        made = await conn.call("token.create", {"name": "sess-escalate", "scope": "admin"})
        assert "scope is write, the method needs admin" in error_of(made, -32003)["message"]
    read = await session_of(daemon, login_ticket(daemon, "--read-only"))
    async with connect(daemon, token=None) as conn:
        assert (await hello(conn, read))["result"]["scope"] == "read"
        made = await conn.call("job.create", {"spec": spec("sess-read", do="noop")})
        assert "scope is read" in error_of(made, -32003)["message"]
    listed = admin(daemon, "token", "list", "--json").json()
    assert "sess-escalate" not in [t["name"] for t in listed]


async def test_a_session_subscription_ends_when_its_token_is_revoked(daemon: RealDaemon) -> None:
    """An events subscription of a session stops delivering once its token is revoked."""
    ops, _ = new_token(daemon, "sess-sub", "--scope", "admin")
    ticket = (await result(daemon, "system.login_url", {"scope": "read"}, ops))["ticket"]
    session = await session_of(daemon, ticket)
    async with connect(daemon, token=None) as conn:
        assert "result" in await hello(conn, session)
        await conn.result("events.subscribe", {"types": ["job.created"]})
        await result(daemon, "job.create", {"spec": spec("sess-seen", do="noop")})
        with trio.fail_after(10):
            while not conn.notes:
                conn.notes.append(await conn.recv())
        assert admin(daemon, "token", "revoke", "sess-sub").code == 0
        await result(daemon, "job.create", {"spec": spec("sess-unseen", do="noop")})
        with trio.move_on_after(1.5):
            conn.notes.append(await conn.recv())
    names = [n["params"]["event"]["job_id"] for n in conn.notes]
    assert len(names) == 1, conn.notes


def test_rotating_the_admin_token_ends_every_dashboard_session(tmp_path: Path) -> None:
    """A dashboard session stops working after the admin token file is replaced and the
    daemon restarted (its key came from the old token)."""
    home = tmp_path / "home"
    first = RealDaemon.start(home)
    try:
        session = trio.run(session_of, first, login_ticket(first))
    finally:
        assert first.stop() == 0
    (home / "token").write_text("rotated-" + "x" * 40 + "\n")
    second = RealDaemon.start(home)
    try:

        async def attempt() -> None:
            async with connect(second, token=None) as conn:
                error_of(await hello(conn, session), -32003)

        trio.run(attempt)
        assert as_token(second, "rotated-" + "x" * 40, "jobs", "list").code == 0
    finally:
        assert second.stop() == 0
