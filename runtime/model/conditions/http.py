"""The ``http`` condition: ``http[s]://URL[==CODE]``, ``http[s]://URL~=/RE/``
(docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit

import attrs

from gnomon.runtime.model import bounds, dsl_scan
from gnomon.runtime.model.dsl_scan import checked_regex, invalid, show, split_regex
from gnomon.runtime.model.kinds import Kind, cap, http_key

_STATUS = re.compile(r"\s*([0-9]+)\s*")


@attrs.frozen(kw_only=True)
class HttpCondition:
    """An HTTP request whose status equals ``status`` and/or whose body matches ``body_regex``.

    At least one of ``status`` and ``body_regex`` is set. ``status=None`` with a regex
    means any status whose body matches.
    """

    TAG: ClassVar[str] = "http"
    url: str
    status: int | None = 200
    body_regex: str | None = None
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = attrs.field(default=10.0, validator=bounds.positive_duration)


def _parse(rest: str, body: str) -> HttpCondition:
    regex = split_regex(body)
    if regex is not None:
        url, pattern = regex
        return HttpCondition(url=_url(url), status=None, body_regex=checked_regex(pattern))
    url, status = body, 200
    pos = body.rfind("==")
    digits = _STATUS.fullmatch(body[pos + 2 :]) if pos >= 0 else None
    if digits:
        code = digits.group(1)
        if len(code) != 3 or not 100 <= int(code) <= 599:
            raise invalid(
                f"bad HTTP status {show(code, 10)} in {show(body)}", code, ("a status 100-599",)
            )
        url, status = body[:pos].strip(), int(code)
    return HttpCondition(url=_url(url), status=status)


def _url(url: str) -> str:
    forms = ("http[s]://HOST[:PORT][/PATH]",)
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host or any(c.isspace() for c in url):
        raise invalid(f"bad URL {show(url)}", url, forms)
    return url


def _format(c: HttpCondition) -> str:
    if c.body_regex is not None:
        return f"{c.url}~=/{dsl_scan.escape_slashes(c.body_regex)}/"
    if c.status is None or (c.status == 200 and "==" not in c.url and "~=" not in c.url):
        return c.url
    return f"{c.url}=={c.status}"


KIND = Kind(
    cls=HttpCondition,
    forms=("http[s]://URL[==CODE]", "http[s]://URL~=/RE/"),
    prefixes=(("http://", _parse), ("https://", _parse)),
    format=_format,
    breaker_key=lambda c, keying: cap(http_key(c.url)),
    secret_fields=("url",),
)
