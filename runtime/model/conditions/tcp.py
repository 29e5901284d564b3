"""The ``tcp`` condition: ``tcp://HOST:PORT`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from gnomon.runtime.model import bounds
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap

_HOST = re.compile(r"[A-Za-z0-9_.-]+|\[[0-9A-Za-z:.%_-]+\]")


@attrs.frozen(kw_only=True)
class TcpCondition:
    """A TCP connection to ``host:port`` succeeds."""

    TAG: ClassVar[str] = "tcp"
    host: str
    port: int
    timeout: float = attrs.field(default=5.0, validator=bounds.positive_duration)


def _parse(rest: str, body: str) -> TcpCondition:
    forms = ("tcp://HOST:PORT", "tcp://[IPv6]:PORT")
    host, sep, port = rest.rpartition(":")
    if not sep or not _HOST.fullmatch(host):
        raise invalid(f"bad tcp target {show(rest)}", rest, forms)
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise invalid(f"bad port {show(port)} in {show(body)}", port, ("a port 1-65535",))
    return TcpCondition(host=host.removeprefix("[").removesuffix("]"), port=int(port))


def _key(c: TcpCondition) -> str:
    host = f"[{c.host}]" if ":" in c.host else c.host
    return cap(f"tcp:{host.lower()}:{c.port}")


KIND = Kind(
    cls=TcpCondition,
    forms=("tcp://HOST:PORT",),
    prefixes=(("tcp://", _parse),),
    format=lambda c: f"tcp://[{c.host}]:{c.port}" if ":" in c.host else f"tcp://{c.host}:{c.port}",
    breaker_key=lambda c, keying: _key(c),
)
