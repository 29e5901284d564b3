"""``gnomon dashboard``: a one-time login URL for the daemon's live page (docs/commands.md).

The admin token stays in the CLI: the daemon issues a short-lived ticket
(``system.login_url``) that the page exchanges for a session and strips from the address
bar. The ticket travels in the URL's fragment (``/#login=…``), which browsers never send
to a server.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click

from gnomon.cli.client import endpoint, request
from gnomon.cli.output import client_options, home_of, print_json, reports_errors
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.durations import parse_duration


def http_base(ws_url: str) -> str:
    """``ws://h:p/ws`` → ``http://h:p`` (``wss`` → ``https``)."""
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme in ("wss", "https") else "http"
    return urlunsplit((scheme, parts.netloc, "", "", ""))


def _can_open() -> bool:
    """A graphical browser is likely: a terminal and a display (or macOS)."""
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return sys.stdout.isatty() and (has_display or sys.platform == "darwin")


def _ttl(text: str) -> float:
    try:
        return parse_duration(text)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message, param_hint="--ttl") from None


@click.command("dashboard")
@click.option("--open/--no-open", "open_", default=None, help="open a browser (default: if any)")
@click.option("--read-only", is_flag=True, help="a session that can look but not act")
@click.option("--ttl", default="60s", show_default=True, help="how long the URL stays valid")
@client_options
@reports_errors
def dashboard(
    open_: bool | None,
    read_only: bool,
    ttl: str,
    home: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Print (and open) a one-time login URL for the live dashboard."""
    where = home_of(home)
    params = {"scope": "read" if read_only else "write", "ttl": _ttl(ttl)}
    ticket: dict[str, Any] = request(where, url, "system.login_url", params)
    target, _ = endpoint(where, url)
    login_url = http_base(target or "ws://127.0.0.1:8765/ws") + ticket["path"]
    if as_json:
        print_json({"url": login_url, "expires_at": ticket["expires_at"], "scope": params["scope"]})
        return
    click.echo(login_url)
    click.echo(
        f"one-time login ({params['scope']} scope), valid until {ticket['expires_at']}",
        err=True,
    )
    if open_ or (open_ is None and _can_open()):
        webbrowser.open(login_url)
