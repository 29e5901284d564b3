"""``gnomon mcp`` as a subprocess, driven by the MCP SDK's own stdio client against a real
daemon (issue 10's acceptance; cookbook recipe 6: an agent schedules itself, and the next
conversation finds the results in its inbox)."""

from __future__ import annotations

import json
import socket
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import jsonschema
import mcp_types as types
import pytest
import trio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPDeprecationWarning
from support.daemon_proc import RealDaemon, cli_env, gnomon

pytestmark = pytest.mark.slow
TOOL_NAMES = {"schedule", "wait", "query", "list", "cancel", "inbox"}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """One daemon for the module; it must stop cleanly."""
    home = tmp_path_factory.mktemp("mcp") / "home"
    running = RealDaemon.start(home, env=cli_env(home, GNOMON_LIMITS_MIN_INTERVAL="100ms"))
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


@pytest.fixture(scope="module")
def agent_token(daemon: RealDaemon) -> str:
    """An agent token (no shell, default limits)."""
    made = gnomon(daemon.home, "token", "create", "--name", "claude", "--agent", "--json")
    assert made.code == 0, made.err
    return str(made.json()["token"])


@asynccontextmanager
async def mcp_session(
    daemon: RealDaemon,
    token: str | None,
    notes: list[Any] | None = None,
    errlog: TextIO = sys.stderr,
) -> AsyncIterator[ClientSession]:
    """A fresh ``gnomon mcp`` process (``token=None``: without ``GNOMON_TOKEN``) and an
    initialized client session with it; its stderr goes to ``errlog``."""
    env = cli_env(daemon.home) if token is None else cli_env(daemon.home, GNOMON_TOKEN=token)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "gnomon.cli", "mcp"], env=env
    )

    async def handler(message: Any) -> None:
        if notes is not None:
            notes.append(message)

    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write, message_handler=handler) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool call's JSON result."""
    result = await session.call_tool(tool, arguments)
    assert isinstance(result.content[0], types.TextContent)
    return dict(json.loads(result.content[0].text))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_tools_are_listed_with_valid_schemas_and_errors_teach(
    daemon: RealDaemon, agent_token: str
) -> None:
    """The six tools have valid JSON schemas; a bad duration names the accepted forms; a
    shell job is refused with the limit named."""
    async with mcp_session(daemon, agent_token) as session:
        tools = (await session.list_tools()).tools
        assert {t.name for t in tools} == TOOL_NAMES
        for tool in tools:
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        schedule = next(t for t in tools if t.name == "schedule")
        assert {"name", "do", "in", "every"} <= set(schedule.input_schema["properties"])
        bad = await call(session, "schedule", name="x", every="often", do="noop")
        assert bad["ok"] is False
        assert "bad duration 'often'" in bad["error"]
        assert "accepted forms" in bad["error"]
        shell = await call(session, "schedule", name="sh", do="shell: id", every="1h")
        assert shell["ok"] is False
        assert "token limit shell" in shell["error"]
        unknown = await call(session, "query", job_id="x")
        assert "QueryTool: required field missing @ $.id" in unknown["error"]


async def test_recipe_6_async_wait_results_reach_the_next_session(
    daemon: RealDaemon, agent_token: str
) -> None:
    """An async wait on a closed port with a triggered follow-up, then disconnect; after
    the port opens, a new session is notified and its inbox has both results, unread
    first, and none unread after the ack."""
    port = free_port()
    async with mcp_session(daemon, agent_token) as first:
        template = await call(first, "schedule", name="followup", when="manual", do="noop: next")
        assert template["ok"], template
        waited = await call(
            first,
            "wait",
            until=f"tcp://127.0.0.1:{port}",
            then="noop: port open",
            every=0.2,
            triggers=["followup"],
            name="port-wait",
            **{"async": True},
        )
        assert (waited["ok"], waited["status"]) == (True, "pending"), waited
        listed = await call(first, "list")
        assert {j["name"] for j in listed["jobs"]} == {"followup", "port-wait"}
    notes: list[Any] = []
    async with mcp_session(daemon, agent_token, notes) as second:
        resources = (await second.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["gnomon://inbox"]
        with warnings.catch_warnings():  # the handshake-era session still serves it
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await second.subscribe_resource("gnomon://inbox")
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", port))
            listener.listen()
            with trio.fail_after(15):
                while True:
                    box = await call(second, "inbox", ack=False)
                    if len(box["entries"]) >= 2:
                        break
                    await trio.sleep(0.1)
        names = [e["item"]["name"] for e in box["entries"]]
        assert names[0] == "port-wait", names
        assert names[1].startswith("followup"), names
        assert all(e["item"]["status"] == "completed" for e in box["entries"])
        assert any("resources/updated" in repr(n) for n in notes), notes
        acked = await call(second, "inbox")
        assert acked["acked"] == len(acked["entries"]) >= 2
        assert (await call(second, "inbox", unread_only=True))["entries"] == []
        query = await call(second, "query", id="port-wait")
        assert query["job"]["status"] == "completed"


async def inbox_of(session: ClientSession, name: str) -> list[dict[str, Any]]:
    """The session's inbox entries for job ``name``, once there is one."""
    with trio.fail_after(15):
        while True:
            box = await call(session, "inbox", ack=False)
            entries = [e for e in box["entries"] if e["item"]["name"] == name]
            if entries:
                return entries
            await trio.sleep(0.1)


async def test_without_a_token_mcp_acts_as_the_default_agent(
    daemon: RealDaemon, tmp_path: Path
) -> None:
    """No GNOMON_TOKEN: one stderr line names the agent token 'mcp'; a shell job is refused;
    a job is owned by agent:mcp and its result reaches that inbox; the token is listed,
    kept 0600 and reused; the kill switch stops it; once revoked, gnomon mcp exits 4
    naming the token file."""
    log = tmp_path / "mcp-stderr.txt"
    with log.open("w") as errlog:
        async with mcp_session(daemon, None, errlog=errlog) as session:
            shell = await call(session, "schedule", name="mcp-sh", do="shell: id", every="1h")
            assert "token limit shell" in shell["error"], shell
            made = await call(session, "schedule", name="mcp-note", do="noop: hello")
            assert made["ok"], made
            query = await call(session, "query", id=made["job_id"])
            assert query["job"]["owner"] == "agent:mcp"
            entries = await inbox_of(session, "mcp-note")
            assert entries[0]["item"]["output"] == "hello"
    said = log.read_text().splitlines()
    assert [line for line in said if "acting as agent token 'mcp'" in line] == said[:1], said
    file = daemon.home / "mcp-token"
    assert file.stat().st_mode & 0o777 == 0o600
    async with mcp_session(daemon, None) as again:
        assert (await call(again, "query", id="mcp-note"))["ok"]
        assert gnomon(daemon.home, "agents", "off").code == 0
        refused = await call(again, "list")
        assert "agents are switched off" in refused["error"], refused
        assert gnomon(daemon.home, "agents", "on").code == 0
    tokens = gnomon(daemon.home, "token", "list", "--json").json()
    mine = [t for t in tokens if t["name"] == "mcp" and t["revoked_at"] is None]
    assert [(t["agent"], t["limits"]["shell"]) for t in mine] == [(True, False)]
    assert gnomon(daemon.home, "token", "revoke", "mcp").code == 0
    revoked = gnomon(daemon.home, "mcp")
    assert revoked.code == 4, revoked.err
    assert str(file) in revoked.err


async def test_tags_as_an_object_or_a_list_of_k_v(daemon: RealDaemon, agent_token: str) -> None:
    """`tags` takes {"team": "ops"} or ["team=ops"]; the schema documents and admits both."""
    async with mcp_session(daemon, agent_token) as session:
        tools = (await session.list_tools()).tools
        schema = next(t for t in tools if t.name == "schedule").input_schema
        assert "K=V" in schema["properties"]["tags"]["description"]
        check = jsonschema.Draft202012Validator(schema)
        for tags in ({"team": "ops", "urgent": ""}, ["team=ops", "urgent"]):
            check.validate({"name": "t", "do": "noop", "tags": tags})
            made = await call(session, "schedule", name=f"tagged-{len(tags)}-{type(tags).__name__}",
                              do="noop", every="1h", tags=tags)  # fmt: skip
            assert made["ok"], made
            shown = gnomon(daemon.home, "jobs", "show", made["job_id"], "--json").json()
            assert shown["tags"] == {"team": "ops", "urgent": ""}
            await call(session, "cancel", id=made["job_id"])
        bad = await call(session, "schedule", name="t2", do="noop", tags={"a": {"b": 1}})
        assert bad["ok"] is False
        assert "tags.a: a tag value is a string" in bad["error"]


async def test_schedule_takes_calendar_natural_forms_jitter_and_exclude(
    daemon: RealDaemon, agent_token: str
) -> None:
    """The schedule tool admits calendar expressions, natural phrases, a six-field cron,
    a jitter and exclusion calendars, exactly as the CLI flags do."""
    async with mcp_session(daemon, agent_token) as session:
        made = await call(session, "schedule", name="cal-mcp", do="noop",
                          calendar=["Mon..Fri *-*-* 09:00"], tz="UTC", jitter="10m",
                          exclude=["holidays"])  # fmt: skip
        assert made["ok"], made
        shown = gnomon(daemon.home, "jobs", "show", made["job_id"], "--json").json()
        schedule = shown["spec"]["schedule"]
        assert (schedule["type"], schedule["exprs"], schedule["jitter"]) == (
            "calendar",
            ["Mon..Fri *-*-* 09:00"],
            600.0,
        )
        assert shown["spec"]["exclude"] == ["holidays"]
        for when in ("every weekday at 18:30", "*/10 * * * * *", "every 15 minutes"):
            ok = await call(session, "schedule", name=f"w-{len(when)}", do="noop", when=when)
            assert ok["ok"], (when, ok)
        bad = await call(session, "schedule", name="j", do="noop", every="1h", jitter="0.2")
        assert "--backoff-jitter" in bad["error"]
