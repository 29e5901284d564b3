"""``events.subscribe`` with ``batch: true`` on a real daemon: events that are ready
together arrive as one frame holding an array of ``events.notify`` notifications — the
same notifications, in the same order, that a subscription without it receives one
frame each (docs/protocol.md, "Subscriptions")."""

from __future__ import annotations

from typing import Any

import trio
from gateway.rawws import Raw, connect, hourly_spec
from support.daemon_proc import RealDaemon


async def subscribed_frames(conn: Raw, params: dict[str, Any], last: int) -> list[Any]:
    """Subscribe with ``params`` and read every frame until the event ``last`` arrived;
    the frames holding notifications, as sent (a dict or an array of dicts)."""
    await conn.send({"jsonrpc": "2.0", "id": 1, "method": "events.subscribe", "params": params})
    frames: list[Any] = []
    seen = 0
    with trio.fail_after(20):
        while seen < last:
            msg = await conn.recv()
            if isinstance(msg, dict) and "id" in msg:
                assert "result" in msg, msg
                continue
            frames.append(msg)
            notes = msg if isinstance(msg, list) else [msg]
            seen = max(seen, *(note["params"]["seq"] for note in notes))
    return frames


def notes_of(frames: list[Any]) -> list[dict[str, Any]]:
    """Every notification in ``frames``, in order, without its subscription id."""
    out = []
    for frame in frames:
        for note in frame if isinstance(frame, list) else [frame]:
            assert note["jsonrpc"] == "2.0", note
            assert note["method"] == "events.notify", note
            out.append({k: v for k, v in note["params"].items() if k != "subscription"})
    return out


async def test_a_batch_subscription_gets_the_same_notifications_in_fewer_frames(
    daemon: RealDaemon,
) -> None:
    async with connect(daemon) as conn:
        for i in range(20):
            await conn.result("job.create", {"spec": hourly_spec(f"packed-{i}")})
        last = (await conn.result("events.list", {"since_seq": 0, "limit": 1}))["last_seq"]
    async with connect(daemon) as one, connect(daemon) as packed:
        plain_frames = await subscribed_frames(one, {"since_seq": 0}, last)
        batch_frames = await subscribed_frames(packed, {"since_seq": 0, "batch": True}, last)
    assert all(isinstance(frame, dict) for frame in plain_frames)
    assert any(isinstance(frame, list) and len(frame) > 1 for frame in batch_frames)
    assert len(batch_frames) < len(plain_frames)
    plain, batched = notes_of(plain_frames), notes_of(batch_frames)
    assert [note["seq"] for note in plain] == list(range(1, len(plain) + 1))
    assert batched == plain


async def test_batch_must_be_a_boolean(daemon: RealDaemon) -> None:
    async with connect(daemon) as conn:
        answer = await conn.call("events.subscribe", {"since_seq": 0, "batch": "yes"})
    assert answer["error"]["code"] == -32602, answer
    assert "batch" in str(answer["error"]), answer
