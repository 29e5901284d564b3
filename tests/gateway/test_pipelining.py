"""Pipelined calls on one connection: the session's writer sends whatever is queued as
one burst (one socket write), and every call is still answered exactly once, with its
own id and result, interleaved correctly with a subscription's notifications."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from gateway.rawws import Raw, connect, hourly_spec, well_formed
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow
CALLS = 300


def frame(ident: int, method: str, params: dict[str, Any]) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})


async def test_pipelined_calls_are_each_answered_once(daemon: RealDaemon) -> None:
    async with connect(daemon) as conn:
        sub = await conn.result("events.subscribe", {"types": ["job.created"]})
        # send every frame before reading anything: the answers queue up together
        for i in range(CALLS):
            if i % 3 == 0:
                await conn.send(frame(1000 + i, "job.create", {"spec": hourly_spec(f"pipe-{i}")}))
            else:
                await conn.send(frame(1000 + i, "system.health", {}))
        answers = await _read_answers(conn, CALLS)
    assert sorted(answers) == [1000 + i for i in range(CALLS)]
    created = {answers[1000 + i]["result"]["spec"]["name"] for i in range(0, CALLS, 3)}
    assert created == {f"pipe-{i}" for i in range(0, CALLS, 3)}
    notified = [n["params"]["event"]["name"] for n in conn.notes if n["method"] == "events.notify"]
    assert sorted(notified) == sorted(created)
    assert all(n["params"]["subscription"] == sub["subscription"] for n in conn.notes)


async def _read_answers(conn: Raw, count: int) -> dict[int, dict[str, Any]]:
    answers: dict[int, dict[str, Any]] = {}
    with trio.fail_after(60):
        while len(answers) < count or len(conn.notes) < count // 3:
            msg = await conn.recv()
            if "method" in msg:
                conn.notes.append(msg)
                continue
            well_formed(msg)
            assert "result" in msg, msg
            assert msg["id"] not in answers, f"answered twice: {msg['id']}"
            answers[msg["id"]] = msg
    return answers
