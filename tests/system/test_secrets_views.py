"""Secrets in views (issue 17, item 9), on a real daemon: a webhook job carrying every
form of secret, run against a real local server, shows none of them in ``jobs show``
(human and ``--json``), ``jobs list --json``, ``job.get`` over a raw WebSocket, ``events
--json`` or ``audit export``; a ``noop`` message's token is masked in ``jobs logs``; the
database files are 0600."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from gateway.rawws import connect
from support.daemon_proc import RealDaemon, Result, gnomon, until
from support.local_http import LocalHTTPServer

pytestmark = pytest.mark.slow

SECRETS = {
    "url password": "url-pass-3141",
    "url token": "query-tok-2718",
    "Authorization": "bearer-tok-1618",
    "Proxy-Authorization": "proxy-cred-1414",
    "Cookie": "cookie-sess-1732",
    "X-Api-Key": "api-key-hdr-2236",
    "X-Auth-Token": "auth-tok-hdr-2449",
    "body api_key": "body-apikey-2645",
    "body password": "body-pass-2828",
    "body token": "body-tok-3000",
    "env": "env-secret-3162",
    "noop token": "noop-tok-3316",
}


def webhook_action(base: str) -> dict[str, Any]:
    """A webhook with a secret in each place a spec can hold one."""
    host = base.removeprefix("http://")
    return {
        "type": "webhook",
        "url": f"http://deploy:{SECRETS['url password']}@{host}/hook?token={SECRETS['url token']}",
        "headers": [
            ["Authorization", f"Bearer {SECRETS['Authorization']}"],
            ["Proxy-Authorization", f"Basic {SECRETS['Proxy-Authorization']}"],
            ["Cookie", f"session={SECRETS['Cookie']}"],
            ["X-Api-Key", SECRETS["X-Api-Key"]],
            ["X-Auth-Token", SECRETS["X-Auth-Token"]],
            ["X-Request-Id", "visible-request-id"],
        ],
        "body": json.dumps(
            {
                "api_key": SECRETS["body api_key"],
                "password": SECRETS["body password"],
                "token": SECRETS["body token"],
                "service": "visible-service",
            }
        ),
        "content_type": "application/json",
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealDaemon, Any]]:
    """A daemon with the webhook job (run once against a real server) and the noop job."""
    home = tmp_path_factory.mktemp("secrets") / "home"
    with LocalHTTPServer() as server:
        daemon = RealDaemon.start(home)
        try:
            made = gnomon(
                home, "schedule", "hook", "--when", "manual",
                "--do-json", json.dumps(webhook_action(server.url)),
                "--env", f"API_TOKEN={SECRETS['env']}",
            )  # fmt: skip
            assert made.code == 0, made
            message = f"noop: deploying with token={SECRETS['noop token']}"
            noop = gnomon(home, "schedule", "chatty", "--when", "manual", "--do", message)
            assert noop.code == 0, noop
            for name in ("hook", "chatty"):
                assert gnomon(home, "jobs", "run", name).code == 0
                until(lambda n=name: _outcome(home, n), f"a finished run of {name}")
            assert server.requests, "the webhook reached the server"
            yield daemon, server
        finally:
            assert daemon.stop() == 0


def _outcome(home: Path, name: str) -> str | None:
    runs = gnomon(home, "jobs", "show", name, "--json").json()["runs"]
    return runs[0]["outcome"] if runs else None


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, result
    return result


def leaks(text: str) -> list[str]:
    return [form for form, secret in SECRETS.items() if secret in text]


def test_the_webhook_really_carried_its_secrets(world: tuple[RealDaemon, Any]) -> None:
    """The stored spec keeps the real values: the request the server got has them."""
    _, server = world
    request = server.requests[0]
    assert request.headers["x-api-key"] == SECRETS["X-Api-Key"]
    assert request.headers["x-auth-token"] == SECRETS["X-Auth-Token"]
    assert SECRETS["url token"] in request.path
    assert request.json()["api_key"] == SECRETS["body api_key"]  # type: ignore[index]


@pytest.mark.parametrize(
    "view",
    [
        ("jobs", "show", "hook"),
        ("jobs", "show", "hook", "--json"),
        ("jobs", "list", "--all", "--json"),
        ("jobs", "--all"),
        ("jobs", "logs", "hook", "--json"),
        ("events", "--json"),
        ("audit", "export"),
    ],
    ids=lambda v: " ".join(v),
)
def test_no_view_shows_a_secret(world: tuple[RealDaemon, Any], view: tuple[str, ...]) -> None:
    """Each CLI view of the jobs, their runs and their events holds no secret."""
    daemon, _ = world
    text = ok(daemon.home, *view).out
    assert text.strip()
    assert leaks(text) == []


def test_show_masks_but_keeps_what_is_not_secret(world: tuple[RealDaemon, Any]) -> None:
    """Masked values read ***; the header names, harmless headers and body fields stay."""
    daemon, _ = world
    spec = ok(daemon.home, "jobs", "show", "hook", "--json").json()["spec"]
    headers = dict(spec["action"]["headers"])
    assert headers["Authorization"] == "***"
    assert headers["X-Auth-Token"] == "***"
    assert headers["X-Request-Id"] == "visible-request-id"
    assert "deploy:***@" in spec["action"]["url"]
    assert "visible-service" in spec["action"]["body"]
    assert spec["env"] == {"API_TOKEN": "***"}


def test_job_get_over_a_raw_websocket_shows_no_secret(world: tuple[RealDaemon, Any]) -> None:
    """job.get and job.list, as the dashboard and other clients call them."""
    daemon, _ = world

    async def fetch() -> str:
        async with connect(daemon) as conn:
            got = await conn.result("job.get", {"ref": "hook"})
            listed = await conn.result("job.list", {"all": True})
            return json.dumps([got, listed])

    text = trio.run(fetch)
    assert "hook" in text
    assert leaks(text) == []


def test_noop_token_is_masked_in_logs(world: tuple[RealDaemon, Any]) -> None:
    """`noop: … token=…`: jobs logs shows token=*** (as for a shell's output)."""
    daemon, _ = world
    logs = ok(daemon.home, "jobs", "logs", "chatty").out
    assert "deploying with token=***" in logs
    assert leaks(logs) == []


def test_database_files_are_private(world: tuple[RealDaemon, Any]) -> None:
    """gnomon.db and its -wal/-shm files are mode 0600."""
    daemon, _ = world
    files = sorted(daemon.home.glob("gnomon.db*"))
    assert {f.name for f in files} >= {"gnomon.db", "gnomon.db-wal", "gnomon.db-shm"}
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
