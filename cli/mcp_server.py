"""The MCP server of ``gnomon mcp``: a client of the daemon on one side, MCP on stdio on
the other (docs/agents.md).

One trio program: the MCP SDK's low-level server (anyio, on trio's backend) serves the
tools of :mod:`gnomon.cli.mcp_tools` and the resource ``gnomon://inbox`` over stdin and
stdout, and one WebSocket connection to the daemon carries every call under the token in
``$GNOMON_TOKEN`` — without one, the default agent token of :mod:`gnomon.cli.mcp_identity`,
never the admin token — (client name ``gnomon-mcp``, recorded in each job's ``created_by``).
While a session has subscribed to the inbox resource (``resources/subscribe``, or a
``subscriptions/listen`` stream on the 2026-07-28 wire), each job end the daemon announces
sends it ``notifications/resources/updated``.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import version
from typing import Any

import mcp_types as types
import trio
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.subscriptions import ResourceUpdated

from gnomon.cli import mcp_identity
from gnomon.cli.client import Client, connect
from gnomon.cli.mcp_identity import default_token
from gnomon.cli.mcp_tools import TOOLS, Tools, schema
from gnomon.cli.output import home_of
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import Unauthorized
from gnomon.runtime.home import Home
from gnomon.runtime.model.events import EventType

INBOX_URI = "gnomon://inbox"
ENDS = (
    EventType.JOB_COMPLETED,
    EventType.JOB_FAILED,
    EventType.JOB_TIMED_OUT,
    EventType.JOB_CANCELLED,
    EventType.JOB_EXPIRED,
)


def _text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


class Bridge:
    """The MCP handlers, bound to one daemon connection."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.tools = Tools(client)
        self.watchers: list[Any] = []  # sessions subscribed with resources/subscribe
        self.bus = InMemorySubscriptionBus()  # subscriptions/listen streams (2026-07-28)

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=t.name,
                    description=t.description,
                    input_schema=schema(t.params),
                    annotations=types.ToolAnnotations(read_only_hint=t.read_only),
                )
                for t in TOOLS
            ]
        )

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        result = await self.tools.call(params.name, params.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=_text(result))],
            structured_content=result,
            is_error=not result.get("ok", False),
        )

    async def list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        inbox = types.Resource(
            name="inbox",
            uri=INBOX_URI,
            description="Results of the jobs you created, unread first (read does not ack).",
            mime_type="application/json",
        )
        return types.ListResourcesResult(resources=[inbox])

    async def read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) != INBOX_URI:
            raise ValueError(f"unknown resource {params.uri}; the one resource is {INBOX_URI}")
        entries = await self.client.call(methods.INBOX_LIST, {"unread_only": False})
        contents = types.TextResourceContents(
            uri=INBOX_URI, mime_type="application/json", text=_text(entries)
        )
        return types.ReadResourceResult(contents=[contents])

    async def subscribe(
        self, ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        if ctx.session not in self.watchers:
            self.watchers.append(ctx.session)
        return types.EmptyResult()

    async def unsubscribe(
        self, ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        if ctx.session in self.watchers:
            self.watchers.remove(ctx.session)
        return types.EmptyResult()

    async def notify_inbox(self) -> None:
        """Forward job ends to subscribed sessions as inbox updates, while connected."""
        async with self.client.subscribe(types=ENDS) as notes:
            async for note in notes:
                if note.get("event") is None:
                    continue  # lagged: the next end notifies again
                for session in list(self.watchers):
                    await session.send_resource_updated(INBOX_URI)
                await self.bus.publish(ResourceUpdated(uri=INBOX_URI))

    def server(self) -> Server[Any]:
        return Server(
            "gnomon",
            version=version("gnomon"),
            instructions="A durable job scheduler: schedule, wait, query, list, cancel; "
            "results of your jobs arrive in the inbox tool and resource.",
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_read_resource=self.read_resource,
            on_subscribe_resource=self.subscribe,
            on_unsubscribe_resource=self.unsubscribe,
            on_subscriptions_listen=ListenHandler(self.bus),
        )


async def serve(home: str | None, url: str | None) -> None:
    """Serve MCP on stdio until the client closes it, as ``$GNOMON_TOKEN`` or else the
    default agent token (:mod:`gnomon.cli.mcp_identity`).

    Raises:
        Unauthorized: the token is unknown or revoked (the hint names the token file).
    """
    where = home_of(home)
    token = None if os.environ.get("GNOMON_TOKEN") else await default_token(where, url)
    try:
        await _serve_as(where, url, token)
    except Unauthorized as exc:
        if token is None:
            raise
        raise Unauthorized(
            f"{exc} (the default agent token {mcp_identity.NAME!r})",
            hint=f"an operator revoked it? delete {mcp_identity.token_file(where)} to have "
            "gnomon mcp create a new one, or set GNOMON_TOKEN",
        ) from None


async def _serve_as(home: Home, url: str | None, token: str | None) -> None:
    async with connect(home, url, client="gnomon-mcp", token=token) as client:
        bridge = Bridge(client)
        server = bridge.server()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bridge.notify_inbox)
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
            nursery.cancel_scope.cancel()
