"""How a daemon runs (its options, the bind check) and what ``daemon.json`` holds."""

from __future__ import annotations

import ssl
from pathlib import Path

import attrs

from gnomon.runtime.config import Config
from gnomon.runtime.errors import DaemonUnreachable
from gnomon.runtime.home import Home

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class CannotStart(DaemonUnreachable):
    """The daemon could not start (exit 5)."""


@attrs.frozen(kw_only=True)
class DaemonOptions:
    """How to run: the home, the effective config and the network flags."""

    home: Home
    config: Config
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_bind: bool = False
    new_audit_key: bool = False


@attrs.frozen(kw_only=True)
class DaemonInfo:
    """What ``daemon.json`` holds (and ``--detach`` prints)."""

    pid: int
    url: str
    http: str
    started_at: str
    boot_id: str
    log: str
    store: str = ""  # the database file, or the PostgreSQL URL without its password


class GatewayAddress:
    """The gateway's WebSocket URL: empty until the gateway is bound (then set once, and
    again if the gateway restarts); a provider for the parts built before it."""

    def __init__(self) -> None:
        self._url = ""

    def bound(self, url: str) -> None:
        """The gateway listens at ``url`` now."""
        self._url = url

    def get(self) -> str:
        return self._url


def check_bind(host: str, opts: DaemonOptions) -> ssl.SSLContext | None:
    """Refuse a non-loopback bind without TLS or ``--insecure-bind``; the TLS context."""
    context = None
    if opts.tls_cert is not None or opts.tls_key is not None:
        if opts.tls_cert is None or opts.tls_key is None:
            raise CannotStart("--tls-cert and --tls-key go together")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(opts.tls_cert), str(opts.tls_key))
    if host not in LOOPBACK and context is None and not opts.insecure_bind:
        raise CannotStart(
            f"refusing to bind {host} without TLS",
            hint="pass --tls-cert/--tls-key, or --insecure-bind on a trusted network",
        )
    return context


def host_of(config: Config) -> str:
    """``daemon.host`` as it goes in a URL (an IPv6 address in brackets)."""
    host = str(config["daemon.host"])
    return f"[{host}]" if ":" in host else host
