"""Debian's Chromium for the dashboard's browser tests, and a dashboard login URL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support.daemon_proc import gnomon

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Playwright's bound on any wait (ms): a hang only, never speed — Chromium and the daemon
#: share two loaded cores in CI (waits of 5–15 s timed out with the load average at ~10).
WAIT_MS = 120_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ok(home: Path, *args: str) -> str:
    """Run ``gnomon ARGS``, require exit 0, return stdout."""
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result.out


def login_url(home: Path, *flags: str) -> str:
    url = json.loads(ok(home, "dashboard", "--no-open", "--json", *flags))["url"]
    assert isinstance(url, str)
    return url
