"""Webhooks, HTTP/TCP conditions and LLM calls against real servers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import trio
from support.exec_io import poll_ctx, real_io, run_ctx
from support.local_http import LocalHTTPServer, OpenAIStub, Recorded, Reply

from gnomon.actors.actions.llm_prompt import Spend
from gnomon.actors.exec.interface import RunContext
from gnomon.actors.exec.settings import LlmPrice, LlmSettings
from gnomon.runtime.model.actions import LlmPromptAction, WebhookAction
from gnomon.runtime.model.conditions import HttpCondition, LlmCondition, TcpCondition
from gnomon.runtime.model.enums import Outcome

pytestmark = pytest.mark.slow

SECRET = "whsec-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_sends_idempotency_key_and_valid_signature(tmp_path: Path) -> None:
    """The receiver sees ``Idempotency-Key`` and an HMAC-SHA256 of the exact body."""
    body = '{"deploy": "v2"}'
    with LocalHTTPServer(lambda rec: Reply(202, "accepted")) as srv:
        action = WebhookAction(
            url=srv.url + "/hook", body=body, content_type="application/json", secret="hooks"
        )
        async with real_io(tmp_path, webhook_secrets={"hooks": SECRET}) as io:
            with trio.fail_after(10):
                result = await io.executors.run(action, run_ctx())
    assert result.outcome is Outcome.SUCCESS, result.error
    rec = srv.requests[0]
    assert rec.headers["idempotency-key"] == "job-1:2026-04-25T14:00:00+00:00"
    expected = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    assert rec.headers["x-gnomon-signature"] == f"sha256={expected}"
    assert rec.headers["content-type"] == "application/json"
    assert rec.body == body.encode()
    assert "202" in result.output
    assert SECRET not in result.output


async def test_webhook_503_with_retry_after_is_transient(tmp_path: Path) -> None:
    """A 503 with ``Retry-After: 2`` fails transiently, asking for 2 s, and counts."""
    with LocalHTTPServer(lambda rec: Reply(503, "busy", (("Retry-After", "2"),))) as srv:
        async with real_io(tmp_path) as io:
            with trio.fail_after(10):
                result = await io.executors.run(WebhookAction(url=srv.url), run_ctx())
    assert result.outcome is Outcome.FAILED
    assert result.transient
    assert result.retry_after == 2
    assert result.breaker_failure


async def test_webhook_retry_after_as_http_date(tmp_path: Path) -> None:
    """``Retry-After`` given as an HTTP date becomes seconds from now."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    with LocalHTTPServer(lambda rec: Reply(429, "slow down", (("Retry-After", when),))) as srv:
        async with real_io(tmp_path) as io:
            result = await io.executors.run(WebhookAction(url=srv.url), run_ctx())
    assert result.retry_after is not None
    assert 25 <= result.retry_after <= 31


async def test_webhook_4xx_is_permanent_and_not_a_breaker_failure(tmp_path: Path) -> None:
    """A 404 is the target's clean answer: permanent, not counted by the breaker."""
    with LocalHTTPServer(lambda rec: Reply(404, "no")) as srv:
        async with real_io(tmp_path) as io:
            result = await io.executors.run(WebhookAction(url=srv.url), run_ctx())
            exact = await io.executors.run(WebhookAction(url=srv.url, expect_status=404), run_ctx())
    assert result.outcome is Outcome.FAILED
    assert not result.transient
    assert not result.breaker_failure
    assert "expected 2xx" in result.error
    assert exact.outcome is Outcome.SUCCESS


async def test_webhook_redirect_limit_and_response_cap(tmp_path: Path) -> None:
    """Redirects beyond the limit fail permanently; long bodies are cut at max_response."""

    def route(rec: Recorded) -> Reply:
        if rec.path.startswith("/loop"):
            return Reply(302, "", (("Location", "/loop"),))
        if rec.path == "/moved":
            return Reply(307, "", (("Location", "/big"),))
        return Reply(200, "x" * 10_000)

    with LocalHTTPServer(route) as srv:
        async with real_io(tmp_path) as io:
            with trio.fail_after(10):
                loop = await io.executors.run(
                    WebhookAction(url=srv.url + "/loop", max_redirects=2), run_ctx()
                )
                big = await io.executors.run(
                    WebhookAction(url=srv.url + "/moved", max_response=100), run_ctx()
                )
    assert loop.outcome is Outcome.FAILED
    assert "more than 2 redirects" in loop.error
    assert len([r for r in srv.requests if r.path == "/loop"]) == 3
    assert big.outcome is Outcome.SUCCESS
    assert big.output.count("x") == 100
    assert "[truncated]" in big.output
    assert srv.requests[-1].headers["idempotency-key"] == "job-1:2026-04-25T14:00:00+00:00"


async def test_webhook_connection_refused_is_transient(tmp_path: Path) -> None:
    """Nobody listening is a transient failure that counts for the breaker."""
    async with real_io(tmp_path) as io:
        with trio.fail_after(10):
            result = await io.executors.run(
                WebhookAction(url=f"http://127.0.0.1:{_free_port()}/"), run_ctx()
            )
    assert result.outcome is Outcome.FAILED
    assert result.transient
    assert result.breaker_failure


async def test_webhook_timeout_and_missing_secret(tmp_path: Path) -> None:
    """A hanging receiver times out transiently; an unknown secret refuses to send."""
    with LocalHTTPServer(lambda rec: Reply(hang=True)) as srv:
        async with real_io(tmp_path) as io:
            with trio.fail_after(10):
                slow = await io.executors.run(WebhookAction(url=srv.url, timeout=0.3), run_ctx())
                unsigned = await io.executors.run(
                    WebhookAction(url=srv.url, secret="nope"), run_ctx()
                )
    assert slow.outcome is Outcome.TIMEOUT
    assert slow.transient
    assert unsigned.outcome is Outcome.FAILED
    assert "webhook.secrets.nope" in unsigned.error
    assert len(srv.requests) == 1


async def test_http_condition_status_body_and_classification(tmp_path: Path) -> None:
    """Status and body regex are checked; 404 is a clean false, 503 a counted false."""

    def route(rec: Recorded) -> Reply:
        return {
            "/ok": Reply(200, "status: green"),
            "/missing": Reply(404, "nope"),
            "/busy": Reply(503, "busy"),
        }.get(rec.path, Reply(500))

    with LocalHTTPServer(route) as srv:
        async with real_io(tmp_path) as io:
            ev, ctx = io.evaluators, poll_ctx()
            with trio.fail_after(10):
                ok = await ev.evaluate(HttpCondition(url=srv.url + "/ok"), ctx)
                body = await ev.evaluate(
                    HttpCondition(url=srv.url + "/ok", status=None, body_regex="green|blue"), ctx
                )
                nobody = await ev.evaluate(
                    HttpCondition(url=srv.url + "/ok", body_regex="red"), ctx
                )
                missing = await ev.evaluate(HttpCondition(url=srv.url + "/missing"), ctx)
                busy = await ev.evaluate(HttpCondition(url=srv.url + "/busy"), ctx)
                bad_re = await ev.evaluate(HttpCondition(url=srv.url, body_regex="("), ctx)
    assert ok.value is True
    assert body.value is True
    assert nobody.value is False
    assert missing.value is False
    assert not missing.breaker_failure
    assert busy.value is False
    assert busy.breaker_failure
    assert bad_re.value is None
    assert not bad_re.transient


async def test_http_and_tcp_conditions_on_a_closed_port(tmp_path: Path) -> None:
    """Connection refused is a transient error counted by the breaker for http; for tcp://
    it is the condition's plain "false" (test_eval_local covers that), never a failure."""
    port = _free_port()
    async with real_io(tmp_path) as io:
        with trio.fail_after(10):
            http = await io.evaluators.evaluate(
                HttpCondition(url=f"http://127.0.0.1:{port}/"), poll_ctx()
            )
            tcp = await io.evaluators.evaluate(
                TcpCondition(host="127.0.0.1", port=port), poll_ctx()
            )
    assert http.value is None
    assert http.transient
    assert http.breaker_failure
    assert tcp.value is False
    assert not tcp.breaker_failure


async def test_tcp_condition_connects(tmp_path: Path) -> None:
    """A listening port satisfies ``tcp://``; an injected host is a permanent error."""
    with LocalHTTPServer() as srv:
        async with real_io(tmp_path) as io:
            with trio.fail_after(10):
                up = await io.evaluators.evaluate(
                    TcpCondition(host="127.0.0.1", port=srv.port), poll_ctx()
                )
                bad = await io.evaluators.evaluate(
                    TcpCondition(host="x; touch pwned", port=80), poll_ctx()
                )
    assert up.value is True
    assert bad.value is None
    assert not bad.transient


async def test_url_injection_is_just_a_path(tmp_path: Path) -> None:
    """Shell metacharacters in a URL reach the server as data and execute nothing."""
    with LocalHTTPServer() as srv:
        async with real_io(tmp_path) as io:
            url = srv.url + "/$(touch pwned);`touch pwned`"
            with trio.fail_after(10):
                await io.evaluators.evaluate(HttpCondition(url=url), poll_ctx(cwd=str(tmp_path)))
                await io.executors.run(WebhookAction(url=url), run_ctx(cwd=str(tmp_path)))
    assert len(srv.requests) == 2
    assert "touch" in srv.requests[0].path
    assert not (tmp_path / "pwned").exists()


def _llm(srv: LocalHTTPServer, **kw: object) -> LlmSettings:
    prices = {"stub-model": LlmPrice(input_per_mtok=1_000.0, output_per_mtok=2_000.0)}
    return LlmSettings(
        base_url=srv.url + "/v1", api_key="sk-test-key-1234", model="stub-model", prices=prices,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_llm_prompt_records_tokens_and_cost(tmp_path: Path) -> None:
    """The stub sees the prompt, model, max tokens and key; tokens and cost are recorded."""
    stub = OpenAIStub(answer="Deployed fine.", prompt_tokens=100, completion_tokens=50)
    with LocalHTTPServer(stub) as srv:
        async with real_io(tmp_path, llm=_llm(srv)) as io:
            with trio.fail_after(10):
                result = await io.executors.run(
                    LlmPromptAction(
                        prompt="Summarise the deploy", system="be brief", max_tokens=64
                    ),
                    run_ctx(),
                )
    assert result.outcome is Outcome.SUCCESS, result.error
    assert result.output == "Deployed fine."
    assert result.tokens == 150
    assert result.cost_usd == pytest.approx((100 * 1000 + 50 * 2000) / 1e6)
    sent = srv.requests[0].json()
    assert isinstance(sent, dict)
    assert sent["model"] == "stub-model"
    assert sent["max_tokens"] == 64
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "Summarise the deploy"},
    ]
    assert srv.requests[0].headers["authorization"] == "Bearer sk-test-key-1234"


async def test_llm_budget_refuses_before_calling(tmp_path: Path) -> None:
    """Once the job's spend reaches its cap, the call is refused and never made."""
    stub = OpenAIStub(prompt_tokens=100, completion_tokens=50)
    with LocalHTTPServer(stub) as srv:
        async with real_io(tmp_path, llm=_llm(srv)) as io:
            capped = LlmPromptAction(prompt="p", max_total_tokens=200, max_cost_usd=10.0)
            with trio.fail_after(10):
                first = await io.executors.run(capped, run_ctx())
                second = await io.executors.run(capped, run_ctx())
                third = await io.executors.run(capped, run_ctx())
            poor = LlmPromptAction(prompt="p", max_cost_usd=0.1)
            engine_says: list[RunContext] = []

            async def spent(ctx: RunContext) -> Spend:
                engine_says.append(ctx)
                return Spend(tokens=0, cost_usd=0.25)

            io.executors.use_spend_lookup(spent)
            refused = await io.executors.run(poor, run_ctx(job_id="job-2"))
    assert first.outcome is Outcome.SUCCESS
    assert second.outcome is Outcome.SUCCESS
    assert third.outcome is Outcome.FAILED
    assert "token budget exhausted: 300 of 200" in third.error
    assert refused.outcome is Outcome.FAILED
    assert "cost budget exhausted" in refused.error
    assert engine_says
    assert len(srv.requests) == 2
    assert srv.requests[1].json()["max_tokens"] == 50  # type: ignore[index]


async def test_llm_timeout_with_a_hanging_stub(tmp_path: Path) -> None:
    """A stub that never answers gives a transient timeout after ``llm.timeout``."""
    with LocalHTTPServer(OpenAIStub(hang=True)) as srv:
        async with real_io(tmp_path, llm=_llm(srv, timeout=0.3)) as io:
            with trio.fail_after(10):
                result = await io.executors.run(LlmPromptAction(prompt="p"), run_ctx())
    assert result.outcome is Outcome.TIMEOUT
    assert result.transient
    assert result.breaker_failure


async def test_llm_errors_are_classified_and_redacted(tmp_path: Path) -> None:
    """429 is transient with Retry-After; 401 is permanent; the API key never shows."""
    with LocalHTTPServer(OpenAIStub(status=429, headers=(("Retry-After", "7"),))) as srv:
        async with real_io(tmp_path, llm=_llm(srv)) as io:
            limited = await io.executors.run(LlmPromptAction(prompt="p"), run_ctx())
    with LocalHTTPServer(OpenAIStub(status=401)) as srv:
        async with real_io(tmp_path, llm=_llm(srv)) as io:
            denied = await io.executors.run(LlmPromptAction(prompt="p"), run_ctx())
    assert limited.transient
    assert limited.retry_after == 7
    assert not denied.transient
    assert not denied.breaker_failure
    assert "sk-test-key-1234" not in denied.error + denied.output


async def test_llm_condition_with_context_command(tmp_path: Path) -> None:
    """The question plus the context command's output is asked; YES passes, NO does not."""
    yes, no = OpenAIStub(answer="**YES** - all pods ready"), OpenAIStub(answer="No, 1 pending")
    cond = LlmCondition(question="Are all pods ready?", context_cmd="echo pods: 3/3 ready")
    with LocalHTTPServer(yes) as srv:
        async with real_io(tmp_path, llm=_llm(srv)) as io:
            with trio.fail_after(10):
                passed = await io.evaluators.evaluate(cond, poll_ctx())
            srv.route = no
            failed = await io.evaluators.evaluate(cond, poll_ctx())
            srv.route = OpenAIStub(answer="Status: DEGRADED")
            regex = await io.evaluators.evaluate(
                LlmCondition(question="state?", passes_if="degraded|down"), poll_ctx()
            )
    assert passed.value is True
    assert failed.value is False
    assert regex.value is True
    prompt = srv.requests[0].json()["messages"][1]["content"]  # type: ignore[index]
    assert prompt.startswith("Are all pods ready?")
    assert "pods: 3/3 ready" in prompt
    assert srv.requests[0].json()["max_tokens"] == 120  # type: ignore[index]
