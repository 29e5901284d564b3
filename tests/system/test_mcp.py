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
from typing import Any

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
    running = RealDaemon.start(home)
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
    daemon: RealDaemon, token: str, notes: list[Any] | None = None
) -> AsyncIterator[ClientSession]:
    """A fresh ``gnomon mcp`` process and an initialized client session with it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gnomon.cli", "mcp"],
        env=cli_env(daemon.home, GNOMON_TOKEN=token),
    )

    async def handler(message: Any) -> None:
        if notes is not None:
            notes.append(message)

    async with (
        stdio_client(params) as (read, write),
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
