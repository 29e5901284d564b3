"""Helpers for the authority tests: tokens made with the real CLI, JSON-RPC calls and
batches on raw WebSocket connections, dashboard logins, and waiting for a job's end."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import trio
from gateway.rawws import Raw, connect, well_formed
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon

from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.model import wire

_ids = itertools.count(10_000)


def admin(daemon: RealDaemon, *args: str) -> Result:
    """``gnomon ARGS`` with the home's admin token."""
    return gnomon(daemon.home, *args)


def as_token(daemon: RealDaemon, token: str, *args: str) -> Result:
    """``gnomon ARGS`` with ``GNOMON_TOKEN=token``."""
    return gnomon(daemon.home, *args, env=cli_env(daemon.home, GNOMON_TOKEN=token))


def new_token(daemon: RealDaemon, name: str, *flags: str) -> tuple[str, str]:
    """A token made with ``gnomon token create``: its secret and its id."""
    made = admin(daemon, "token", "create", "--name", name, *flags, "--json")
    assert made.code == 0, made.err
    value = made.json()
    return str(value["token"]), str(value["info"]["id"])


def spec(name: str, **options: Any) -> dict[str, Any]:
    """A job spec in wire form, built from CLI-style options as the CLI builds it."""
    built = spec_from_options({"name": name, **options}, now=datetime.now(UTC), tz="UTC")
    return dict(wire.unstructure(built))


async def rpc(daemon: RealDaemon, method: str, params: Any, token: str = "") -> dict[str, Any]:
    """One call on a fresh connection (the admin token unless ``token``); the response."""
    async with connect(daemon, token=token) as conn:
        return await conn.call(method, params)


async def result(daemon: RealDaemon, method: str, params: Any, token: str = "") -> Any:
    """One call's result (it must succeed)."""
    answer = await rpc(daemon, method, params, token)
    assert "result" in answer, answer
    return answer["result"]


async def batch(conn: Raw, calls: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """One JSON-RPC batch of ``calls``; the responses in request order."""
    frames = [{"jsonrpc": "2.0", "id": next(_ids), "method": m, "params": p} for m, p in calls]
    await conn.send(frames)
    answer = await conn.recv()
    assert isinstance(answer, list), answer
    by_id = {well_formed(a)["id"]: a for a in answer}
    return [by_id[f["id"]] for f in frames]


def login_ticket(daemon: RealDaemon, *flags: str) -> str:
    """A dashboard login ticket from ``gnomon dashboard --json`` (the admin's)."""
    made = admin(daemon, "dashboard", "--no-open", "--json", *flags)
    assert made.code == 0, made.err
    return str(json.loads(made.out)["url"]).split("#login=")[1]


async def hello(conn: Raw, token: str) -> dict[str, Any]:
    """``system.hello {token}``: the whole response."""
    return await conn.call("system.hello", {"token": token, "client": "authority-tests"})


async def session_of(daemon: RealDaemon, ticket: str) -> str:
    """The session token a login ticket buys."""
    async with connect(daemon, token=None) as conn:
        assert "result" in await hello(conn, ticket)
        grant = await conn.result("system.session", {})
    return str(grant["session"])


async def ended(daemon: RealDaemon, ref: str, timeout: float = 30.0) -> dict[str, Any]:
    """``job.get`` once the job's last run has finished (a liveness bound, not timing)."""
    with trio.fail_after(timeout):
        while True:
            detail = await result(daemon, "job.get", {"ref": ref})
            runs = detail["runs"]
            if runs and runs[0]["finished_at"] is not None:
                return dict(detail)
            await trio.sleep(0.1)
