"""LLM calls: the ``llm_prompt`` executor and the chat client the ``llm`` condition shares.

One OpenAI-compatible chat completion: ``POST {llm.base_url}/chat/completions`` with
``{"model", "messages": [system?, user], "max_tokens"}`` and ``Authorization: Bearer
{llm.api_key}`` when a key is configured. Tokens come from the reply's ``usage``; cost is
``prompt × input price + completion × output price`` from ``llm.prices[model]`` (USD per
million tokens), ``None`` for a model without a price.

**Budget.** ``max_total_tokens`` / ``max_cost_usd`` cap what a job spends over its life.
Before each call the executor asks ``spent(ctx)`` — the engine's lookup of the job's spend
so far, or by default an in-memory :class:`SpendLedger` of this daemon's calls — and
refuses (permanent failure, no call made) once a cap is reached. The call's
``max_tokens`` is lowered to the tokens left, so the prompt's own tokens can overshoot
the cap once, by at most one prompt. ``max_cost_usd`` on a model without a price is
refused (it could not be enforced).

==========================================  =========  =======
failure                                     transient  breaker
==========================================  =========  =======
429, 5xx (``Retry-After`` honoured)         yes        yes
timeout (``llm.timeout``), connect errors   yes        yes
401/403/404/400 and other 4xx               no         no
malformed reply, no ``llm.base_url``        no         no
budget exhausted                            no         no
==========================================  =========  =======
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import trio

from gnomon.actors.exec.common import failure
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings, LlmSettings
from gnomon.runtime.httpclient import (
    classify_error,
    classify_status,
    parse_retry_after,
    send_capped,
)
from gnomon.runtime.model.actions import LlmPromptAction
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["ChatFailure", "ChatReply", "LlmExecutor", "Spend", "SpendLedger", "chat", "executor"]

_REPLY_CAP = 1024 * 1024


@attrs.frozen(kw_only=True)
class ChatReply:
    """A completion's text and usage."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@attrs.frozen(kw_only=True)
class ChatFailure:
    """Why a completion failed (message redacted by the caller)."""

    message: str
    transient: bool
    breaker: bool
    retry_after: float | None = None
    timed_out: bool = False


async def chat(
    client: httpx.AsyncClient,
    llm: LlmSettings,
    *,
    prompt: str,
    system: str | None = None,
    model: str | None = None,
    max_tokens: int,
    timeout: float | None = None,
) -> ChatReply | ChatFailure:
    """One chat completion; never raises for a failed call. Cancellation propagates."""
    if not llm.base_url:
        return ChatFailure(
            message="no LLM endpoint configured (set llm.base_url)", transient=False, breaker=False
        )
    name = model or llm.model
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    headers = {"Authorization": f"Bearer {llm.api_key}"} if llm.api_key else {}
    limit = llm.timeout if timeout is None else timeout
    url = llm.base_url.rstrip("/") + "/chat/completions"
    body = {"model": name, "messages": messages, "max_tokens": max_tokens}
    try:
        request = client.build_request("POST", url, json=body, headers=headers)
    except (httpx.InvalidURL, ValueError) as exc:
        return ChatFailure(message=f"invalid llm.base_url: {exc}", transient=False, breaker=False)
    response = None
    with trio.move_on_after(limit):
        try:
            response = await send_capped(client, request, cap=_REPLY_CAP, timeout=limit)
        except httpx.HTTPError as exc:
            f = classify_error(exc, f"LLM call to {name}")
            return ChatFailure(message=f.message, transient=f.transient, breaker=f.breaker_failure)
    if response is None:
        msg = f"LLM call to {name} timed out after {limit:g}s"
        return ChatFailure(message=msg, transient=True, breaker=True, timed_out=True)
    if not 200 <= response.status < 300:
        transient, breaker = classify_status(response.status)
        retry = parse_retry_after(response.headers.get("retry-after")) if transient else None
        detail = response.text()[:300]
        return ChatFailure(
            message=f"LLM call to {name} returned {response.status}: {detail}",
            transient=transient,
            breaker=breaker,
            retry_after=retry,
        )
    return _parse_reply(response.body, name)


def _parse_reply(raw: bytes, model: str) -> ChatReply | ChatFailure:
    try:
        data = json.loads(raw)
        message = data["choices"][0]["message"]
        text = message.get("content") or ""
        usage = data.get("usage") or {}
        return ChatReply(
            text=str(text),
            model=str(data.get("model") or model),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return ChatFailure(
            message=f"malformed LLM reply from {model}: {type(exc).__name__}: {exc}",
            transient=False,
            breaker=False,
        )


@attrs.frozen
class Spend:
    """Tokens and dollars a job has spent on LLM calls."""

    tokens: int = 0
    cost_usd: float = 0.0


SpendLookup = Callable[[RunContext], Awaitable[Spend]]


class SpendLedger:
    """This daemon's LLM spend per job (the default :data:`SpendLookup`)."""

    def __init__(self) -> None:
        self._spent: dict[str, Spend] = {}

    async def lookup(self, ctx: RunContext) -> Spend:
        return self._spent.get(ctx.job_id, Spend())

    def add(self, job_id: str, tokens: int, cost_usd: float | None) -> None:
        old = self._spent.get(job_id, Spend())
        self._spent[job_id] = Spend(old.tokens + tokens, old.cost_usd + (cost_usd or 0.0))


class LlmExecutor:
    """Runs :class:`LlmPromptAction`\\ s under the job's budget."""

    def __init__(
        self,
        settings: ExecSettings,
        client: httpx.AsyncClient,
        *,
        spent: SpendLookup | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.ledger = SpendLedger()
        self.spent = spent or self.ledger.lookup

    async def _refusal(self, action: LlmPromptAction, ctx: RunContext, model: str) -> str | None:
        spent = await self.spent(ctx)
        cap = action.max_total_tokens
        if cap is not None and spent.tokens >= cap:
            return f"LLM token budget exhausted: {spent.tokens} of {cap} tokens spent; no call made"
        if action.max_cost_usd is not None:
            if model not in self.settings.llm.prices:
                return (
                    f"no price configured for model {model!r} (llm.prices); "
                    "max_cost_usd cannot be enforced, so no call was made"
                )
            if spent.cost_usd >= action.max_cost_usd:
                return (
                    f"LLM cost budget exhausted: ${spent.cost_usd:.4f} of "
                    f"${action.max_cost_usd:.4f} spent; no call made"
                )
        return None

    async def run(self, action: LlmPromptAction, ctx: RunContext) -> ActionResult:
        """Make the call; cancellation aborts it and propagates."""
        redactor = self.settings.redactor().with_env(ctx.env)
        model = action.model or self.settings.llm.model
        refusal = await self._refusal(action, ctx, model)
        if refusal is not None:
            return failure(refusal)
        max_tokens = action.max_tokens
        if action.max_total_tokens is not None:
            left = action.max_total_tokens - (await self.spent(ctx)).tokens
            max_tokens = max(1, min(max_tokens, left))
        reply = await chat(
            self.client,
            self.settings.llm,
            prompt=action.prompt,
            system=action.system,
            model=model,
            max_tokens=max_tokens,
        )
        return self._result(reply, ctx, model, redactor)

    def _result(
        self, reply: ChatReply | ChatFailure, ctx: RunContext, model: str, redactor: Redactor
    ) -> ActionResult:
        if isinstance(reply, ChatFailure):
            return failure(
                redactor.redact(reply.message),
                outcome=Outcome.TIMEOUT if reply.timed_out else Outcome.FAILED,
                transient=reply.transient,
                breaker=reply.breaker,
                retry_after=reply.retry_after,
            )
        price = self.settings.llm.prices.get(model)
        cost = price.cost(reply.prompt_tokens, reply.completion_tokens) if price else None
        self.ledger.add(ctx.job_id, reply.total_tokens, cost)
        cap = self.settings.llm_output_cap
        output = redactor.redact(reply.text)
        if len(output) > cap:
            output = output[:cap] + f"\n[… answer truncated to {cap} characters]"
        return ActionResult(
            outcome=Outcome.SUCCESS,
            output=output,
            tokens=reply.total_tokens,
            cost_usd=cost,
        )


def stored_spend(runs: Callable[[str, int], Awaitable[list[Any]]]) -> SpendLookup:
    """A :data:`SpendLookup` that sums the tokens and dollars of the job's recorded runs
    (``runs(job_id, limit)`` is the store's query), so a budget survives daemon restarts."""

    async def lookup(ctx: RunContext) -> Spend:
        tokens, cost = 0, 0.0
        for run in await runs(ctx.job_id, 100_000):
            tokens += run.tokens or 0
            cost += run.cost_usd or 0.0
        return Spend(tokens, cost)

    return lookup


def executor(deps: ExecDeps) -> ActionRun[LlmPromptAction]:
    """The registry's hook: runs ``llm_prompt`` actions under the job's budget."""
    return LlmExecutor(deps.settings, deps.http, spent=deps.spent).run
