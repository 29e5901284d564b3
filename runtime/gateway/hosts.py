"""Which ``Host`` headers the front door answers: the defence against DNS rebinding.

A page on ``evil.example`` whose DNS name is re-pointed at 127.0.0.1 reaches the daemon
from the victim's browser, but its requests still say ``Host: evil.example:PORT``. So every
request (``/``, ``/static/…``, ``/metrics``, ``/healthz`` and the ``/ws`` upgrade) must
name the daemon as it is bound: the bound address; ``localhost`` and the loopback
addresses when bound to loopback (or to every address); any IP literal and this machine's
names when bound to every address (an IP literal cannot be rebound); and the names an
operator lists in ``gateway.allowed_hosts`` (``*`` turns the check off). A port in the
header must be the bound one, unless the configured entry names its own (``name:port``,
e.g. a tunnel). Pure: no I/O beyond reading this machine's names once.
"""

from __future__ import annotations

import ipaddress
import re
import socket

import attrs

from gnomon.runtime.errors import InvalidInput

CONFIG_KEY = "gateway.allowed_hosts"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback(name: str) -> bool:
    """``localhost`` or a loopback IP literal."""
    address = _ip(name)
    return name.lower() == "localhost" if address is None else address.is_loopback


def split_host(header: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` header, lower-cased, brackets dropped from IPv6;
    ``None`` when it is malformed."""
    text = header.strip().lower()
    if text.startswith("["):
        name, sep, rest = text[1:].partition("]")
        if not sep or _ip(name) is None or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, sep, port_text = text.rpartition(":")
        if not sep:
            name, port_text = text, None
    if not (_NAME.fullmatch(name) or _ip(name)):
        return None
    if port_text is not None and not (port_text.isdigit() and len(port_text) <= 5):
        return None
    return name.rstrip("."), None if port_text is None else int(port_text)


def _shown(name: str) -> str:
    return f"[{name}]" if ":" in name else name


@attrs.frozen(kw_only=True)
class AllowedHosts:
    """The names (any port-less ``Host`` or one with ``port``) and exact ``name:port``
    pairs the front door answers to; see the module docstring."""

    port: int
    names: frozenset[str]
    pairs: frozenset[tuple[str, int]] = frozenset()
    any_ip: bool = False
    anything: bool = False

    def allows(self, header: str) -> bool:
        """Whether a request with this ``Host`` header (``""``: none) may be answered."""
        if self.anything:
            return True
        parsed = split_host(header)
        if parsed is None:
            return False
        name, port = parsed
        if port is not None and (name, port) in self.pairs:
            return True
        if port is not None and port != self.port:
            return False
        return name in self.names or (self.any_ip and _ip(name) is not None)

    def refusal(self, header: str) -> str:
        """The one-line body of a 403: the host, what is accepted, the config key."""
        shown = sorted(_shown(n) for n in self.names) + sorted(
            f"{_shown(n)}:{p}" for n, p in self.pairs
        )
        extra = ", any IP address" if self.any_ip else ""
        what = f"host {header!r}" if header else "a request without a Host header"
        return (
            f"{what} is not allowed: this daemon answers {', '.join(shown)}{extra} on port "
            f"{self.port} (add a name to {CONFIG_KEY}: a DNS-rebinding defence)"
        )


def allowed_hosts(bound: str, port: int, configured: str) -> AllowedHosts:
    """The hosts a daemon bound to ``bound:port`` answers, plus the comma-separated
    ``configured`` entries (``name``, ``name:port`` or ``*``)."""
    entries = [e.strip() for e in configured.split(",") if e.strip()]
    names = {bound.strip("[]").lower()} - WILDCARDS
    pairs: set[tuple[str, int]] = set()
    wildcard = bound.strip("[]") in WILDCARDS
    if wildcard or is_loopback(bound.strip("[]")):
        names.update(LOOPBACK_NAMES)
    if wildcard:
        names.update(n.lower() for n in (socket.gethostname(), socket.getfqdn()) if n)
    for entry in entries:
        parsed = split_host(entry)
        if parsed is None:
            continue  # check_config refuses these when the daemon starts
        name, entry_port = parsed
        if entry_port is None:
            names.add(name)
        else:
            pairs.add((name, entry_port))
    return AllowedHosts(
        port=port,
        names=frozenset(names),
        pairs=frozenset(pairs),
        any_ip=wildcard,
        anything="*" in entries,
    )


def check_config(configured: str) -> None:
    """Refuse a ``gateway.allowed_hosts`` value with an entry that is not ``name``,
    ``name:port`` or ``*``.

    Raises:
        InvalidInput: naming the first bad entry and the accepted forms.
    """
    entries = [e.strip() for e in configured.split(",") if e.strip()]
    for entry in entries:
        if entry != "*" and split_host(entry) is None:
            raise InvalidInput(
                f"config {CONFIG_KEY}: bad entry {entry!r}",
                token=entry,
                accepted=("name", "name:port", "[::1]:port", "*"),
                field=CONFIG_KEY,
            )
