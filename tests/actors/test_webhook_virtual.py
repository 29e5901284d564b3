"""Webhooks and HTTP probes in virtual time through ``httpx.MockTransport`` (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import trio

from gnomon.actors.exec.evaluator import Evaluators
from gnomon.actors.exec.executor import Executors
from gnomon.actors.exec.interface import PollContext, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime.httpclient import open_client
from gnomon.runtime.model.actions import WebhookAction
from gnomon.runtime.model.conditions import HttpCondition
from gnomon.runtime.model.enums import Outcome, OwnerKind
from gnomon.runtime.model.job import Owner

OWNER = Owner(kind=OwnerKind.USER, id="u")
CTX = RunContext(
    job_id="j",
    job_name="n",
    run_id="r",
    fire_time=datetime(2026, 1, 1, tzinfo=UTC),
    attempt=1,
    owner=OWNER,
    timeout=60,
)


async def _slow(request: httpx.Request) -> httpx.Response:
    await trio.sleep(10)
    return httpx.Response(200)


async def test_webhook_timeout_in_virtual_time(tmp_path: Path, autojump_clock: object) -> None:
    """A receiver slower than the webhook timeout ends it at exactly the timeout."""
    async with open_client(transport=httpx.MockTransport(_slow)) as client:
        ex = Executors(ExecSettings(), http=client, policy=ShellPolicy.in_home(tmp_path))
        start = trio.current_time()
        result = await ex.run(WebhookAction(url="http://hook.test/", timeout=5), CTX)
    assert result.outcome is Outcome.TIMEOUT
    assert trio.current_time() - start == 5


async def test_retry_after_from_a_mock_receiver(tmp_path: Path) -> None:
    """A 503 with ``Retry-After: 2`` reports 2 s, transient, without touching a socket."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.headers["idempotency-key"] == CTX.idempotency_key
        return httpx.Response(503, headers={"Retry-After": "2"})

    async with open_client(transport=httpx.MockTransport(handler)) as client:
        ex = Executors(ExecSettings(), http=client, policy=ShellPolicy.in_home(tmp_path))
        result = await ex.run(WebhookAction(url="http://hook.test/"), CTX)
        ev = Evaluators(ExecSettings(), http=client, policy=ShellPolicy.in_home(tmp_path))
        poll = PollContext(job_id="j", job_name="n", owner=OWNER, poll=1, timeout=5)
        verdict = await ev.evaluate(HttpCondition(url="http://hook.test/"), poll)
    assert result.retry_after == 2
    assert result.transient
    assert verdict.value is False
    assert verdict.breaker_failure
