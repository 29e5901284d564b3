"""The ``http`` evaluator, with the daemon's shared client.

=============================================  ======  =========  =======
outcome                                        value   transient  breaker
=============================================  ======  =========  =======
status and body as expected                    true
unexpected status (404 against ``==200``)      false              no
unexpected 429 / 5xx                           false              yes
timeout, connection refused/reset, DNS         error   yes        yes
TLS certificate not trusted                    error   no         yes
bad URL or scheme, bad regex, redirect loop    error   no         no
=============================================  ======  =========  =======

Redirects are followed (at most 5) unless the expected status is itself a 3xx; the body
read stops at ``http_body_cap`` bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import trio

from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.httpclient import classify_error, classify_status, send_capped
from gnomon.runtime.model.conditions import HttpCondition
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["HttpEvaluator", "evaluator"]


def _error(summary: str, *, transient: bool, breaker: bool = False) -> Verdict:
    return Verdict(value=None, summary=summary, transient=transient, breaker_failure=breaker)


class HttpEvaluator:
    """Evaluates :class:`HttpCondition`\\ s with the shared client."""

    def __init__(self, settings: ExecSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def evaluate(self, cond: HttpCondition, ctx: PollContext, redactor: Redactor) -> Verdict:
        """One probe; cancellation aborts it."""
        what = redactor.redact(f"{cond.method.upper()} {cond.url}")
        try:
            regex = re.compile(cond.body_regex) if cond.body_regex is not None else None
        except re.error as exc:
            return _error(f"invalid body regex /{cond.body_regex}/: {exc}", transient=False)
        try:
            request = self.client.build_request(
                cond.method.upper(), cond.url, headers=list(cond.headers)
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
            return _error(redactor.redact(f"invalid URL {cond.url!r}: {exc}"), transient=False)
        follow = 0 if cond.status is not None and 300 <= cond.status < 400 else 5
        response = None
        with trio.move_on_after(cond.timeout):
            try:
                response = await send_capped(
                    self.client,
                    request,
                    cap=self.settings.http_body_cap,
                    max_redirects=follow,
                    timeout=cond.timeout,
                )
            except httpx.HTTPError as exc:
                f = classify_error(exc, what)
                return _error(
                    redactor.redact(f.message), transient=f.transient, breaker=f.breaker_failure
                )
        if response is None:
            return _error(f"{what} timed out after {cond.timeout:g}s", transient=True, breaker=True)
        status_ok = cond.status is None or response.status == cond.status
        if not status_ok:
            _, breaker = classify_status(response.status)
            summary = f"{what} → {response.status} (expected {cond.status})"
            return Verdict(value=False, summary=summary, breaker_failure=breaker)
        if regex is not None and not regex.search(response.text()):
            cut = f" (first {self.settings.http_body_cap} bytes)" if response.truncated else ""
            summary = f"{what} → {response.status}; body{cut} does not match /{cond.body_regex}/"
            return Verdict(value=False, summary=summary)
        return Verdict(value=True, summary=f"{what} → {response.status}")


def evaluator(deps: EvalDeps) -> ConditionCheck[HttpCondition]:
    """The registry's hook."""
    return HttpEvaluator(deps.settings, deps.http).evaluate
