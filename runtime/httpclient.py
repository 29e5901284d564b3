"""The daemon's one HTTP client, bounded requests, and the mapping of httpx failures.

One :class:`httpx.AsyncClient` per daemon (a shared connection pool), created by
:func:`open_client` in the composition root and closed on shutdown. Under trio httpcore
uses its trio backend, so timeouts are trio deadlines.

:func:`send_capped` sends one request and reads at most ``cap`` bytes of the body,
following at most ``max_redirects`` redirects itself (httpx fixes the limit per client;
ours is per request). :func:`classify_error` is the *one* place that decides what an
httpx exception means for retries and breakers:

==================================================  =========  ======================
failure                                             transient  counts for the breaker
==================================================  =========  ======================
timeout (connect, read, write, pool)                yes        yes
connection refused / reset, DNS failure, protocol   yes        yes
TLS certificate verification failed                 no         yes
too many redirects                                  no         no
bad URL, unsupported scheme, bad request headers    no         no
==================================================  =========  ======================

:func:`classify_status`: 429 and 5xx are transient and count for the breaker; other
statuses are the target's clean answer.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from datetime import UTC, datetime

import attrs
import httpx

__all__ = [
    "USER_AGENT",
    "CappedResponse",
    "HttpFailure",
    "classify_error",
    "classify_status",
    "open_client",
    "parse_retry_after",
    "send_capped",
]

USER_AGENT = "gnomon/0.1"


def open_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    trust_env: bool = True,
    verify: bool = True,
    max_connections: int = 100,
) -> httpx.AsyncClient:
    """The daemon's shared client; use it as ``async with open_client() as client``.

    Redirects are never followed by the client itself (see :func:`send_capped`).
    ``transport`` is for tests (``httpx.MockTransport``).
    """
    return httpx.AsyncClient(
        transport=transport,
        trust_env=trust_env,
        verify=verify,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
        timeout=httpx.Timeout(30.0),
    )


@attrs.frozen(kw_only=True)
class CappedResponse:
    """A response whose body was read up to a cap."""

    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    url: str
    redirects: int = 0

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class TooManyRedirects(httpx.TooManyRedirects):
    """More redirects than the request allows."""


async def send_capped(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    cap: int,
    max_redirects: int = 5,
    timeout: float | None = None,
) -> CappedResponse:
    """Send ``request``, follow up to ``max_redirects`` redirects, read ``cap`` body bytes.

    Raises:
        httpx.HTTPError: transport failures (map them with :func:`classify_error`).

    Cancellation: closes the response stream and propagates.
    """
    extensions = {} if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()}
    request.extensions.update(extensions)
    for hop in range(max_redirects + 1):
        response = await client.send(request, stream=True)
        try:
            nxt = response.next_request
            if nxt is None:
                body, truncated = await _read_capped(response, cap)
                return CappedResponse(
                    status=response.status_code,
                    headers=response.headers,
                    body=body,
                    truncated=truncated,
                    url=str(request.url),
                    redirects=hop,
                )
        finally:
            await response.aclose()
        nxt.extensions.update(extensions)
        request = nxt
    raise TooManyRedirects(f"more than {max_redirects} redirects", request=request)


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes of the body.

    Past the cap the response is closed and the (now failing or ending) iteration run to
    its end: breaking out instead would leave httpx's nested async generators unfinished.
    """
    buf = bytearray()
    truncated = False
    try:
        async for chunk in response.aiter_bytes():
            if truncated:
                continue
            buf += chunk
            if len(buf) > cap:
                truncated = True
                await response.aclose()
    except Exception:
        if not truncated:
            raise
    return bytes(buf[:cap]), truncated


@attrs.frozen
class HttpFailure:
    """What a failed exchange means: a message, retry class and breaker relevance."""

    message: str
    transient: bool
    breaker_failure: bool


def classify_error(exc: httpx.HTTPError, what: str = "request") -> HttpFailure:
    """Map an httpx exception to a message and its classification (module docstring)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return HttpFailure(f"{what} timed out ({type(exc).__name__})", True, True)
    if isinstance(exc, httpx.TooManyRedirects):
        return HttpFailure(f"{what} failed: {detail}", False, False)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return HttpFailure(f"{what} is invalid: {detail}", False, False)
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in detail:
        return HttpFailure(f"{what} failed: TLS certificate not trusted: {detail}", False, True)
    if isinstance(exc, httpx.ConnectError):
        return HttpFailure(f"{what} could not connect: {detail}", True, True)
    if isinstance(exc, httpx.DecodingError):
        return HttpFailure(f"{what} returned an undecodable body: {detail}", False, False)
    return HttpFailure(f"{what} failed: {type(exc).__name__}: {detail}", True, True)


def classify_status(status: int) -> tuple[bool, bool]:
    """``(transient, breaker_failure)`` of an unexpected status: 429 and 5xx are both."""
    bad = status == 429 or status >= 500
    return bad, bad


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def header_items(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers as a list of pairs (httpx accepts it and keeps repeated names)."""
    return [(k, v) for k, v in headers]
