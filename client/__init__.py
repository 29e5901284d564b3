"""gnomon's Python client: schedule, wait for and read jobs from your own code.

``Client`` blocks (scripts); ``AsyncClient`` is for trio code; ``job_spec`` builds a
spec from the DSL texts. Both clients speak the JSON-RPC protocol of docs/protocol.md
and return its types; errors are gnomon's exception classes. See docs/client.md.

The names load on first use, so the CLI's connection (:mod:`gnomon.client.rpc`) starts
without the wire converter and the DSL parsers (docs/performance.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gnomon.client.aio import AsyncClient
    from gnomon.client.specs import job_spec
    from gnomon.client.sync import Client

__all__ = ["AsyncClient", "Client", "job_spec"]
_WHERE = {"AsyncClient": "aio", "Client": "sync", "job_spec": "specs"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gnomon.client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gnomon.client.{_WHERE[name]}"), name)
