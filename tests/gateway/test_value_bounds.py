"""Tiny and huge values over the gateway (issue 17, item 4), on a real daemon with a raw
WebSocket client: each is -32602 naming the field and the accepted range, nothing is
stored, and another client is answered throughout."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from gateway.rawws import connect, error_of, hourly_spec
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow

#: (what, where in the spec, the value) — each once accepted or answered -32603.
BAD_VALUES: list[tuple[str, tuple[str, ...], Any]] = [
    ("10 µs interval", ("schedule", "every"), 0.00001),
    ("huge interval", ("schedule", "every"), 1e308),
    ("negative interval", ("schedule", "every"), -1),
    ("anchor in 9999", ("schedule", "anchor"), "9999-12-31T23:59:59+00:00"),
    ("huge jitter", ("schedule", "jitter"), 1e308),
    ("huge poll interval", ("budget", "poll_interval"), 1e308),
    ("tiny poll interval", ("budget", "poll_interval"), 0.0001),
    ("huge wait timeout", ("budget", "wait_timeout"), 1e308),
    ("huge action timeout", ("budget", "action_timeout"), 1e308),
    ("huge backoff", ("budget", "backoff_max"), 1e308),
    ("huge backoff multiplier", ("budget", "backoff_mult"), 1e308),
    ("huge retry count", ("budget", "max_retries"), 10**18),
    ("huge ttl", ("ttl",), 1e308),
    ("negative ttl", ("ttl",), -5),
    ("huge misfire grace", ("misfire_grace",), 1e308),
]


def spec_with(name: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    spec = hourly_spec(name)
    target = spec
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return spec


async def test_ten_microsecond_interval_is_refused_and_the_daemon_answers(
    daemon: RealDaemon,
) -> None:
    """The attack: job.create with every = 0.00001 froze the daemon (and every later
    start). Now: -32602 naming the field and the 10 ms floor, no job stored, and another
    connection's calls are answered before and after."""
    async with connect(daemon) as attacker, connect(daemon) as other:
        await other.result("system.health")
        answer = await attacker.call(
            "job.create", {"spec": spec_with("spin", ("schedule", "every"), 0.00001)}
        )
        err = error_of(answer, -32602)
        assert "schedule.every" in err["message"]
        assert "at least 10ms" in err["message"]
        for _ in range(5):
            assert (await other.result("system.health"))["ok"] is True
            await trio.sleep(0.05)
        error_of(await other.call("job.get", {"ref": "spin"}), -32001)


@pytest.mark.parametrize(("what", "path", "value"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
async def test_out_of_bounds_value_is_invalid_params(
    daemon: RealDaemon, what: str, path: tuple[str, ...], value: Any
) -> None:
    """Each value is -32602 naming its field, never -32603 and never a stored job."""
    async with connect(daemon) as conn:
        answer = await conn.call("job.create", {"spec": spec_with("bad", path, value)})
        err = error_of(answer, -32602)
        assert ".".join(path) in err["message"], what


async def test_interval_under_limits_min_interval_names_the_key(daemon: RealDaemon) -> None:
    """A 500 ms interval is inside the model's bounds but under the daemon's default
    limits.min_interval (1 s): -32602 naming the value, the limit and the config key."""
    async with connect(daemon) as conn:
        answer = await conn.call(
            "job.create", {"spec": spec_with("half", ("schedule", "every"), 0.5)}
        )
        err = error_of(answer, -32602)
        assert "500ms" in err["message"]
        assert "1s" in err["message"]
        assert "limits.min_interval" in err["message"]
