"""The ``http``, ``tcp`` and ``file`` evaluators.

=============================================  ======  =========  =======
outcome                                        value   transient  breaker
=============================================  ======  =========  =======
**http**: status and body as expected          true
unexpected status (404 against ``==200``)      false              no
unexpected 429 / 5xx                           false              yes
timeout, connection refused/reset, DNS         error   yes        yes
TLS certificate not trusted                    error   no         yes
bad URL or scheme, bad regex, redirect loop    error   no         no
**tcp**: connected                             true
refused, unreachable, DNS, timeout             error   yes        yes
bad host or port                               error   no         no
**file**: exists (size, age as asked)          true
missing, too small, changed too recently       false
permission denied, bad path                    error   no         no
other I/O error                                error   yes        no
=============================================  ======  =========  =======

HTTP redirects are followed (at most 5) unless the expected status is itself a 3xx; the
body read stops at ``http_body_cap`` bytes. A relative file path is resolved against the
job's ``--cwd`` (else the daemon's working directory); ``stable_for`` compares the file's
mtime with the wall clock.
"""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import httpx
import trio

from gnomon.actors.exec_settings import ExecSettings
from gnomon.actors.execution import PollContext, Verdict
from gnomon.runtime.httpclient import classify_error, classify_status, send_capped
from gnomon.runtime.model.conditions import FileCondition, HttpCondition, TcpCondition
from gnomon.runtime.redact import Redactor

__all__ = ["FileEvaluator", "HttpEvaluator", "TcpEvaluator"]

_HOST = re.compile(r"^[A-Za-z0-9._:\[\]%-]{1,253}$")


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


class TcpEvaluator:
    """Evaluates :class:`TcpCondition`\\ s."""

    async def evaluate(self, cond: TcpCondition, ctx: PollContext) -> Verdict:
        """One connection attempt; cancellation aborts it."""
        where = f"tcp://{cond.host}:{cond.port}"
        if not _HOST.match(cond.host):
            return _error(f"invalid host {cond.host!r}", transient=False)
        if not 1 <= cond.port <= 65535:
            return _error(f"invalid port {cond.port} (1-65535)", transient=False)
        with trio.move_on_after(cond.timeout):
            try:
                stream = await trio.open_tcp_stream(cond.host.strip("[]"), cond.port)
            except OSError as exc:
                first: BaseException = exc
                cause = exc.__cause__
                if isinstance(cause, ExceptionGroup) and cause.exceptions:
                    first = cause.exceptions[0]
                if getattr(first, "errno", None) == errno.ECONNREFUSED:
                    # the host answered "nothing listens here": the condition is simply
                    # false (what a wait for a port expects), not a failing target
                    return Verdict(value=False, summary=f"{where}: connection refused")
                detail = getattr(first, "strerror", None) or str(first)
                return _error(f"{where}: {detail}", transient=True, breaker=True)
            await stream.aclose()
            return Verdict(value=True, summary=f"{where}: connected")
        return _error(f"{where}: timed out after {cond.timeout:g}s", transient=True, breaker=True)


def _resolve(path: str, cwd: str | None) -> Path:
    """``path`` with ``~`` expanded, relative to ``cwd`` (else the working directory)."""
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else Path(cwd or os.getcwd()) / resolved


class FileEvaluator:
    """Evaluates :class:`FileCondition`\\ s."""

    async def evaluate(self, cond: FileCondition, ctx: PollContext) -> Verdict:
        """One ``stat``, in a worker thread (a hung network filesystem cannot block trio)."""
        path = _resolve(cond.path, ctx.cwd)
        try:
            st = await trio.to_thread.run_sync(os.stat, path, abandon_on_cancel=True)
        except (FileNotFoundError, NotADirectoryError):
            return Verdict(value=False, summary=f"{path} does not exist")
        except PermissionError:
            return _error(f"{path}: permission denied", transient=False)
        except ValueError as exc:
            return _error(f"invalid path {cond.path!r}: {exc}", transient=False)
        except OSError as exc:
            return _error(f"{path}: {exc.strerror or exc}", transient=True)
        is_dir = (st.st_mode & 0o170000) == 0o040000
        if cond.min_size > 0 and is_dir:
            return Verdict(value=False, summary=f"{path} is a directory")
        if st.st_size < cond.min_size:
            return Verdict(value=False, summary=f"{path} has {st.st_size} of {cond.min_size} bytes")
        age = time.time() - st.st_mtime
        if cond.stable_for > 0 and age < cond.stable_for:
            return Verdict(
                value=False,
                summary=f"{path} changed {age:.1f}s ago (needs {cond.stable_for:g}s unchanged)",
            )
        return Verdict(value=True, summary=f"{path} exists ({st.st_size} bytes)")
