"""The ``webhook`` executor: one HTTP request through the daemon's shared client.

Headers sent besides the action's own: ``User-Agent: gnomon/…``,
``Idempotency-Key: <job id>:<fire time ISO>`` (the same for every attempt of one fire, so
the receiver can drop duplicates), the action's ``content_type`` as ``Content-Type``
(unless a header sets it) and, when the action names a secret, ``X-Gnomon-Signature:
sha256=<hex HMAC-SHA256 of the exact body bytes>`` keyed with the secret's value
(``webhook.secrets.<name>``). A secret name that is not configured fails the action
permanently rather than sending an unsigned request.

Success is ``expect_status``, or any 2xx when unset. Redirects are followed up to
``max_redirects`` (an ``Authorization`` header is dropped on a cross-origin hop, by httpx);
the body read stops at ``max_response`` bytes. Failures:

===========================================  =========  =======  ==================
failure                                      transient  breaker  ``retry_after``
===========================================  =========  =======  ==================
429, 5xx                                     yes        yes      ``Retry-After``
other unexpected status (4xx, 3xx…)          no         no
timeout (``timeout``), connection errors     yes        yes
too many redirects, bad URL, missing secret  no         no
===========================================  =========  =======  ==================
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

import httpx
import trio

from gnomon.actors.exec.common import failure
from gnomon.actors.exec.interface import ActionResult, RunContext
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.httpclient import (
    classify_error,
    classify_status,
    parse_retry_after,
    send_capped,
)
from gnomon.runtime.model.actions import WebhookAction
from gnomon.runtime.model.enums import Outcome

if TYPE_CHECKING:
    from gnomon.actors.exec.executor import ActionRun, ExecDeps

__all__ = ["SIGNATURE_HEADER", "WebhookExecutor", "executor", "sign"]

SIGNATURE_HEADER = "X-Gnomon-Signature"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Gnomon-Signature`` value of ``body``: ``sha256=`` + hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookExecutor:
    """Sends :class:`WebhookAction`\\ s."""

    def __init__(self, settings: ExecSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    def _request(self, action: WebhookAction, ctx: RunContext) -> httpx.Request | str:
        body = (action.body or "").encode()
        headers = list(action.headers)
        names = {k.lower() for k, _ in headers}
        if action.content_type and "content-type" not in names:
            headers.append(("Content-Type", action.content_type))
        headers.append(("Idempotency-Key", ctx.idempotency_key))
        if action.secret is not None:
            secret = self.settings.webhook_secrets.get(action.secret)
            if secret is None:
                return (
                    f"webhook secret {action.secret!r} is not configured "
                    f"(webhook.secrets.{action.secret}); not sending an unsigned request"
                )
            headers.append((SIGNATURE_HEADER, sign(secret, body)))
        try:
            return self.client.build_request(
                action.method.upper(),
                action.url,
                headers=headers,
                content=body if action.body is not None else None,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
            return f"invalid webhook request: {exc}"

    async def run(self, action: WebhookAction, ctx: RunContext) -> ActionResult:
        """Send ``action``; cancellation aborts the request and propagates."""
        redactor = self.settings.redactor().with_env(ctx.env)
        what = f"{action.method.upper()} {action.url}"
        request = self._request(action, ctx)
        if isinstance(request, str):
            return failure(redactor.redact(request))
        response = None
        with trio.move_on_after(action.timeout):
            try:
                response = await send_capped(
                    self.client,
                    request,
                    cap=action.max_response,
                    max_redirects=action.max_redirects,
                    timeout=action.timeout,
                )
            except httpx.HTTPError as exc:
                f = classify_error(exc, what)
                return failure(
                    redactor.redact(f.message), transient=f.transient, breaker=f.breaker_failure
                )
        if response is None:
            msg = f"{what} timed out after {action.timeout:g}s"
            return failure(
                redactor.redact(msg), outcome=Outcome.TIMEOUT, transient=True, breaker=True
            )
        cut = " [truncated]" if response.truncated else ""
        output = redactor.redact(f"{what} → {response.status}\n{response.text()}{cut}")
        expected = action.expect_status
        ok = response.status == expected if expected is not None else 200 <= response.status < 300
        if ok:
            return ActionResult(outcome=Outcome.SUCCESS, output=output)
        transient, breaker = classify_status(response.status)
        retry = parse_retry_after(response.headers.get("retry-after")) if transient else None
        want = expected if expected is not None else "2xx"
        return failure(
            redactor.redact(f"{what} returned {response.status}, expected {want}"),
            output=output,
            transient=transient,
            breaker=breaker,
            retry_after=retry,
        )


def executor(deps: ExecDeps) -> ActionRun[WebhookAction]:
    """The registry's hook: sends ``webhook`` actions with the daemon's shared client."""
    return WebhookExecutor(deps.settings, deps.http).run
