"""The ``webhook`` action: ``GET|POST|PUT|PATCH|DELETE URL [| BODY]``
(docs/actions-and-conditions.md)."""

from __future__ import annotations

import json
import re
from typing import ClassVar
from urllib.parse import urlsplit

import attrs

from gnomon.runtime.model import bounds
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap, http_key

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
JSON_CONTENT_TYPE = "application/json"
_WEBHOOK = re.compile(rf"({'|'.join(HTTP_METHODS)})(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)


@attrs.frozen(kw_only=True)
class WebhookAction:
    """An HTTP request. Success is ``expect_status``, or any 2xx when it is ``None``.

    ``secret`` names a configured secret (``webhook.secrets.<name>``) used to sign the
    body with HMAC-SHA256; the secret's value is never stored in the job.
    """

    TAG: ClassVar[str] = "webhook"
    url: str
    method: str = "POST"
    body: str | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int | None = None
    timeout: float = attrs.field(default=30.0, validator=bounds.positive_duration)
    max_response: int = 8192
    max_redirects: int = 5
    secret: str | None = None


def _match(body: str) -> WebhookAction | None:
    found = _WEBHOOK.fullmatch(body)
    if not found:
        return None
    method, rest = found.group(1).upper(), found.group(2) or ""
    target, bar, payload = rest.partition("|")
    url = target.strip()
    forms = (f"{method} http[s]://HOST[/PATH] [| BODY]",)
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not url:
        raise invalid(f"{method} needs a URL: {show(body)}", body, forms)
    if not ok or any(c.isspace() for c in url):
        hint = f"to run a command, write: shell: {body}"
        raise invalid(f"bad webhook URL {show(url)} in {show(body)}", url, forms, hint=hint)
    content = payload.strip() if bar else ""
    if not content:
        return WebhookAction(url=url, method=method)
    return WebhookAction(url=url, method=method, body=content, content_type=_content_type(content))


def _content_type(body: str) -> str | None:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return None
    return JSON_CONTENT_TYPE


def _format(a: WebhookAction) -> str:
    return f"{a.method} {a.url}" if a.body is None else f"{a.method} {a.url} | {a.body}"


KIND = Kind(
    cls=WebhookAction,
    forms=("GET|POST|PUT|PATCH|DELETE URL [| BODY]",),
    match=_match,
    format=_format,
    breaker_key=lambda a, keying: cap(http_key(a.url)),
    secret_fields=("url", "body"),
)
