"""The forms of the condition DSL (docs/actions-and-conditions.md) and the parsers of its
leaf forms — everything but the composites ``and``/``or``/``not``, which
:mod:`gnomon.runtime.model.condition_dsl` parses around them. Syntax: that module's
docstring.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from fractions import Fraction
from urllib.parse import urlsplit

from gnomon.runtime.model import dsl_scan
from gnomon.runtime.model.conditions import (
    Condition,
    DockerCondition,
    FileCondition,
    HttpCondition,
    K8sCondition,
    LlmCondition,
    OutputCondition,
    ShellCondition,
    TcpCondition,
)
from gnomon.runtime.model.dsl_scan import invalid, show

CONDITION_FORMS: tuple[str, ...] = (
    "http[s]://URL[==CODE]",
    "http[s]://URL~=/RE/",
    "tcp://HOST:PORT",
    "file:PATH[>=BYTES]",
    "shell: CMD",
    "sh: CMD",
    "CMD ~= /RE/",
    "docker:NAME[:running|:healthy]",
    "k8s:KIND[/NS]/NAME[:COND]",
    "llm: QUESTION",
    "and(A, B, …)",
    "or(A, B, …)",
    "not A",
    "not(A)",
)

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_NAME_FORM = "a name of letters, digits and ._- (a trailing * matches a prefix)"
_DOCKER = re.compile(rf"(?P<name>{_NAME})(?P<star>\*?)(?::(?P<state>[^:]*))?")
_K8S = re.compile(
    rf"(?P<kind>{_NAME})(?:/(?P<ns>{_NAME}))?/(?P<name>{_NAME})(?P<star>\*?)(?::(?P<cond>{_NAME}))?"
)
_HOST = re.compile(r"[A-Za-z0-9_.-]+|\[[0-9A-Za-z:.%_-]+\]")
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?)?b?\s*", re.IGNORECASE)
_STATUS = re.compile(r"\s*([0-9]+)\s*")
MAX_SIZE = 2**62


def parse_leaf(body: str) -> Condition:
    """One leaf condition (``body`` stripped, not empty).

    Raises:
        InvalidInput: no form matches, or a part is invalid; the message names the token.
    """
    lower = body.lower()
    for prefix, parser in _PREFIXES:
        if lower.startswith(prefix):
            return parser(body[len(prefix) :].strip(), body)
    regex = _split_regex(body)
    if regex is not None:
        return _output(regex[0], regex[1], body)
    first = body.split()[0]
    looks_prefixed = ":" in first  # a mistyped prefix (htp://, dockr:) is not a command
    raise invalid(
        f"cannot parse condition {show(body)} (unknown form {show(first)})",
        body,
        CONDITION_FORMS,
        hint=None if looks_prefixed else f"to wait for a command to succeed, write: shell: {body}",
    )


def _split_regex(body: str) -> tuple[str, str] | None:
    """``LEFT ~= /RE/`` split at the last ``~=`` followed by a whole ``/…/``."""
    for pos in dsl_scan.rfind_all(body, "~="):
        right = body[pos + 2 :].strip()
        if len(right) >= 2 and right[0] == "/" and right[-1] == "/":
            return body[:pos].strip(), dsl_scan.unescape_slashes(right[1:-1])
    return None


def _regex(pattern: str) -> str:
    try:
        with warnings.catch_warnings():  # "possible nested set" and friends: still valid
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise invalid(
            f"bad regex {show(pattern)}: {exc}", pattern, ("a Python regex between slashes",)
        ) from None
    return pattern


def _http(rest: str, body: str) -> Condition:
    regex = _split_regex(body)
    if regex is not None:
        url, pattern = regex
        return HttpCondition(url=_url(url), status=None, body_regex=_regex(pattern))
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


def _tcp(rest: str, body: str) -> Condition:
    forms = ("tcp://HOST:PORT", "tcp://[IPv6]:PORT")
    host, sep, port = rest.rpartition(":")
    if not sep or not _HOST.fullmatch(host):
        raise invalid(f"bad tcp target {show(rest)}", rest, forms)
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise invalid(f"bad port {show(port)} in {show(body)}", port, ("a port 1-65535",))
    return TcpCondition(host=host.removeprefix("[").removesuffix("]"), port=int(port))


def _file(rest: str, body: str) -> Condition:
    path, min_size = rest, 0
    for pos in dsl_scan.rfind_all(rest, ">"):
        strict = not rest.startswith(">=", pos)
        size = _size(rest[pos + (1 if strict else 2) :])
        if size is not None:
            path, min_size = rest[:pos].strip(), size + (1 if strict else 0)
            break
    if not path:
        raise invalid(
            f"file condition needs a path: {show(body)}", body, ("file:PATH", "file:PATH>=BYTES")
        )
    return FileCondition(path=path, min_size=min_size)


def _size(text: str) -> int | None:
    """Bytes of ``10k``, ``5MiB``, ``1.5 GB``, ``512``; ``None`` when not a size."""
    match = _SIZE.fullmatch(text)
    if not match:
        return None
    number, unit = match.group(1), (match.group(2) or "").lower()
    base = 1024 if unit.endswith("i") else 1000
    value = Fraction(number[:40]) * base ** ("_kmgt".index(unit[0]) if unit else 0)
    if len(number) > 40 or value > MAX_SIZE or value.denominator != 1:
        raise invalid(
            f"bad size {show(text.strip())}: a whole number of bytes up to 2**62",
            text.strip(),
            ("10k", "5MiB", "512"),
        )
    return int(value)


def _shell(rest: str, body: str) -> Condition:
    if not rest:
        raise invalid("shell: needs a command", body, ("shell: CMD",))
    return ShellCondition(command=rest)


def _regex_prefixed(rest: str, body: str) -> Condition:
    regex = _split_regex(rest)
    if regex is None:
        raise invalid(f"regex: needs CMD ~= /RE/, got {show(rest)}", rest, ("regex: CMD ~= /RE/",))
    return _output(regex[0], regex[1], body)


def _output(command: str, pattern: str, body: str) -> Condition:
    if not command:
        raise invalid(f"missing command before ~= in {show(body)}", body, ("CMD ~= /RE/",))
    return OutputCondition(command=command, pattern=_regex(pattern))


def _docker(rest: str, body: str) -> Condition:
    match = _DOCKER.fullmatch(rest)
    if not match:
        raise invalid(f"bad docker container name {show(rest)}", rest, (_NAME_FORM,))
    state = match.group("state")
    if state is not None and state.lower() not in ("running", "healthy"):
        raise invalid(f"bad docker state {show(state)}", state, ("running", "healthy"))
    return DockerCondition(
        name=match.group("name"),
        prefix=bool(match.group("star")),
        state="healthy" if state and state.lower() == "healthy" else "running",
    )


def _k8s(rest: str, body: str) -> Condition:
    match = _K8S.fullmatch(rest)
    if not match:
        raise invalid(
            f"bad k8s target {show(rest)}", rest, ("k8s:KIND[/NS]/NAME[:COND]", _NAME_FORM)
        )
    return K8sCondition(
        kind=match.group("kind"),
        namespace=match.group("ns"),
        name=match.group("name"),
        prefix=bool(match.group("star")),
        condition=match.group("cond"),
    )


def _llm(rest: str, body: str) -> Condition:
    if not rest:
        raise invalid("llm: needs a question", body, ("llm: QUESTION",))
    return LlmCondition(question=rest)


_PREFIXES: tuple[tuple[str, Callable[[str, str], Condition]], ...] = (
    ("http://", _http),
    ("https://", _http),
    ("tcp://", _tcp),
    ("file:", _file),
    ("shell:", _shell),
    ("sh:", _shell),
    ("regex:", _regex_prefixed),
    ("docker:", _docker),
    ("k8s:", _k8s),
    ("llm:", _llm),
)
