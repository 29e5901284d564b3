"""Who ``gnomon mcp`` acts as when ``$GNOMON_TOKEN`` is not set: a default agent token.

An MCP client that gives no token must not get the home's admin token. ``gnomon mcp``
then acts as the agent token named :data:`NAME` (owner ``agent:mcp``, the default agent
limits: no shell, jobs expire after 7 days), created on first use through the home's
admin token and kept in ``<home>/mcp-token`` (0600). Being an ordinary agent token, it is
listed by ``gnomon token list``, revocable, subject to the kill switch, and its jobs'
results reach its inbox. A revoked one is never recreated behind the operator's back:
the daemon refuses it (exit 4) until the file is deleted by someone who may.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from gnomon.cli.client import connect
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import Conflict
from gnomon.runtime.home import Home, write_private

NAME = "mcp"
FILE = "mcp-token"


def token_file(home: Home) -> Path:
    return home.root / FILE


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


async def _create(home: Home, url: str | None) -> str:
    """A new agent token named :data:`NAME`, made with the home's admin token.

    Raises:
        Conflict: a live token already has that name (its secret file was lost).
    """
    try:
        async with connect(home, url, client="gnomon-mcp", token=home.read_token()) as admin:
            made = await admin.call(methods.TOKEN_CREATE, {"name": NAME, "agent": True})
    except Conflict:
        raise Conflict(
            f"a live token named {NAME!r} exists but {token_file(home)} does not hold it",
            hint=f"revoke it (gnomon token revoke {NAME}) so gnomon mcp creates a new one, "
            "or set GNOMON_TOKEN",
        ) from None
    return str(made["token"])


async def default_token(home: Home, url: str | None) -> str:
    """The default agent token's secret, created on first use (see the module docstring);
    says so on stderr in one line. Concurrent first uses create one token (a file lock).

    Raises:
        Conflict, Unauthorized, DaemonUnreachable: the token could not be created.
    """
    home.create()
    path = token_file(home)
    fd = os.open(home.root / f".{FILE}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        secret = _read(path)
        if secret is None:
            secret = await _create(home, url)
            write_private(path, secret + "\n")
    finally:
        os.close(fd)
    print(
        f"gnomon mcp: no GNOMON_TOKEN, acting as agent token {NAME!r} (owner agent:{NAME}, "
        f"default agent limits: no shell, jobs expire after 7d) from {path}",
        file=sys.stderr,
    )
    return secret
