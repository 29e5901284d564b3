"""The example session printed in docs/protocol.md, replayed against a real daemon."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway.rawws import Raw, connect
from support.daemon_proc import RealDaemon

from gnomon.runtime.gateway.protocol_doc import ANY, EXAMPLE

pytestmark = pytest.mark.slow


def matches(expected: Any, got: Any) -> bool:
    """``got`` equals ``expected`` where ``expected`` is not the ``…`` wildcard."""
    if expected == ANY:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(expected) == set(got)
            and all(matches(v, got[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list) and len(expected) == len(got) and all(map(matches, expected, got))
        )
    return bool(expected == got and type(expected) is type(got))


async def expect(conn: Raw, expected: Any, pending: list[Any]) -> None:
    """Find ``expected`` among messages already read, else read until it arrives."""
    for index, msg in enumerate(pending):
        if matches(expected, msg):
            del pending[index]
            return
    while not matches(expected, msg := await conn.recv()):
        pending.append(msg)


async def test_documented_example_session(daemon: RealDaemon) -> None:
    """Each documented frame, sent as shown, gets the documented answer."""
    pending: list[Any] = []
    async with connect(daemon, token=None) as conn:
        for sent, received in EXAMPLE:
            if sent is not None:
                await conn.send(json.dumps(sent).replace('"TOKEN"', json.dumps(daemon.token)))
            if received is not None:
                await expect(conn, received, pending)
    assert pending == []
