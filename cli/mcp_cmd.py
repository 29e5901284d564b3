"""``gnomon mcp``: an MCP server on stdio for AI agents (docs/agents.md).

The server lives in :mod:`gnomon.cli.mcp_server`, imported only here (the MCP SDK is
heavy; no other command pays for it).
"""

from __future__ import annotations

import click
import trio

from gnomon.cli.output import home_option, reports_errors


@click.command("mcp")
@home_option
@click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")
@reports_errors
def mcp(home: str | None, url: str | None) -> None:
    """MCP server on stdio for AI agents (token from $GNOMON_TOKEN, else the default
    agent token 'mcp': no shell)."""
    from gnomon.cli.mcp_server import serve

    trio.run(serve, home, url)
