"""The condition DSL of ``--wait`` / ``--until`` (docs/actions-and-conditions.md): parse and format.

Forms (keywords and prefixes are case-insensitive)::

    http[s]://URL            status 200          http[s]://URL==CODE    status CODE
    http[s]://URL~=/RE/      body matches RE (any status)
    tcp://HOST:PORT          tcp://[::1]:8080
    file:PATH                file:PATH>=10k      file:PATH>1MiB (strictly greater)
    shell: CMD | sh: CMD     exit code 0
    CMD ~= /RE/              stdout matches RE   (also ``regex: CMD ~= /RE/``)
    docker:NAME[:running|:healthy]               k8s:KIND[/NS]/NAME[:COND]
    llm: QUESTION
    and(A, B, …)  or(…)  all_of(…)  any_of(…)  not A  not(A)  (A)

Operators split on their *last* occurrence that makes sense (``==`` followed by digits,
``~=`` followed by ``/…/``), so a URL may contain ``==`` or ``~=``. Composite arguments
split on commas outside parentheses, quotes and ``/regex/`` bodies; wrap an argument in
parentheses when it has a comma of its own: ``and((sh: echo a, b), tcp://db:5432)``.
A trailing ``*`` on a docker or k8s name matches every name with that prefix. Sizes take
``k M G T`` (powers of 1000) or ``Ki Mi Gi Ti`` (powers of 1024), ``B`` optional.
Docker and k8s names are plain names (letters, digits, ``._-``): anything else, shell
metacharacters included, is refused at parse time.

:func:`format_condition` writes the DSL back. Fields the DSL cannot express — HTTP
``method``/``headers``/``timeout``, a status *and* a regex together, tcp ``timeout``,
file ``stable_for``, shell ``expect_exit``/``bypass_safety``, regex ``source`` other
than stdout, llm ``context_cmd``/``passes_if``/``model``/``max_tokens`` — are dropped, so
the text is for display; ``strict=True`` refuses instead of dropping.
"""

from __future__ import annotations

import re

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import dsl_scan
from gnomon.runtime.model.conditions import (
    CONDITION_FORMS,
    CONDITION_KINDS,
    AllOf,
    AnyOf,
    Condition,
    Not,
    condition_kind,
)
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.wire import from_json

__all__ = [
    "condition_from_json",
    "format_condition",
    "parse_condition",
    "wrap",
]

MAX_NESTING = 32

_COMPOSITE = re.compile(r"(and|or|all_of|any_of|not)\s*\(", re.IGNORECASE)
_NOT = re.compile(r"not\s+", re.IGNORECASE)
_PREFIXES = tuple(pair for kind in CONDITION_KINDS for pair in kind.prefixes)
_MATCHES = tuple(kind.match for kind in CONDITION_KINDS if kind.match is not None)


# --- parsing -------------------------------------------------------------------------------


def parse_condition(text: str) -> Condition:
    """Parse one condition of the DSL.

    Raises:
        InvalidInput: the text matches no form, or a part of it is invalid (bad regex,
            port, size, name, unbalanced parentheses, nesting deeper than
            :data:`MAX_NESTING`); the message names the offending token and the
            accepted forms.
    """
    return _parse(text, 0)


def _parse(text: str, depth: int) -> Condition:
    if depth > MAX_NESTING:
        raise invalid(f"conditions nested deeper than {MAX_NESTING}", text[:80], CONDITION_FORMS)
    body = text.strip()
    if not body:
        raise invalid("empty condition", text, CONDITION_FORMS)
    composite = _parse_composite(body, depth)
    if composite is not None:
        return composite
    not_match = _NOT.match(body)
    if not_match:
        return Not(child=_parse(body[not_match.end() :], depth + 1))
    return _parse_leaf(body)


def _parse_composite(body: str, depth: int) -> Condition | None:
    """``and(…)``, ``or(…)``, ``all_of(…)``, ``any_of(…)``, ``not(…)`` and ``(…)``.

    ``not(…)`` and ``(…)`` hold one condition, commas and all; the others split theirs.
    """
    match = _COMPOSITE.match(body)
    start = match.end() - 1 if match else (0 if body.startswith("(") else -1)
    if start < 0:
        return None
    close = dsl_scan.closing_paren(body, start)
    if close is None and match:
        raise invalid(f"unclosed '(' in {show(body)}", body, ("balanced parentheses",))
    if close != len(body) - 1:
        return None
    keyword = match.group(1).lower() if match else ""
    inner = body[start + 1 : -1]
    if keyword in ("", "not"):
        child = _parse_single(inner, "not(A)" if keyword else "(A)", depth)
        return Not(child=child) if keyword else child
    parts = dsl_scan.split_top(inner)
    if len(parts) == 1 and not parts[0].strip():
        raise invalid(f"{keyword}() needs at least one condition", body, ("and(A, B, …)",))
    for index, part in enumerate(parts, 1):
        if not part.strip():
            raise invalid(f"argument {index} of {show(body)} is empty", body, ("and(A, B, …)",))
    children = tuple(_parse(p, depth + 1) for p in parts)
    return AllOf(children=children) if keyword in ("and", "all_of") else AnyOf(children=children)


def _parse_single(inner: str, form: str, depth: int) -> Condition:
    """The one condition inside ``not(…)`` or ``(…)``; a clearer error for ``not(A, B)``."""
    try:
        return _parse(inner, depth + 1)
    except InvalidInput:
        parts = dsl_scan.split_top(inner)
        if len(parts) > 1:
            raise invalid(
                f"{form} takes one condition, got {len(parts)}: {show(inner)}", inner, (form,)
            ) from None
        raise


def _parse_leaf(body: str) -> Condition:
    """One leaf condition (``body`` stripped, not empty): every type's prefixes, then the
    forms without a prefix, in registry order."""
    lower = body.lower()
    for prefix, parser in _PREFIXES:
        if lower.startswith(prefix):
            leaf: Condition = parser(body[len(prefix) :].strip(), body)
            return leaf
    for match in _MATCHES:
        found: Condition | None = match(body)
        if found is not None:
            return found
    first = body.split()[0]
    looks_prefixed = ":" in first  # a mistyped prefix (htp://, dockr:) is not a command
    raise invalid(
        f"cannot parse condition {show(body)} (unknown form {show(first)})",
        body,
        CONDITION_FORMS,
        hint=None if looks_prefixed else f"to wait for a command to succeed, write: shell: {body}",
    )


# --- formatting ----------------------------------------------------------------------------


def format_condition(condition: Condition, *, strict: bool = False) -> str:
    """Write ``condition`` in the DSL.

    Fields the DSL cannot express are dropped (see the module docstring), as are values
    it cannot carry (a URL with spaces, a name with shell metacharacters): the text may
    then not parse back to ``condition``.

    Raises:
        InvalidInput: only with ``strict=True``, when the text would not parse back to an
            equal condition.
    """
    text = condition_kind(condition).format(condition)
    if strict and _reparsed(text) != condition:
        raise InvalidInput(
            f"this condition cannot be written in the DSL without loss: {show(text)}",
            token=text,
            accepted=("the JSON form of the condition",),
        )
    return text


def condition_from_json(text: str | bytes) -> Condition:
    """The structured (JSON) form of a condition, e.g. ``{"type": "tcp", …}``.

    Raises:
        InvalidInput: not JSON, or not a condition (details name each bad field).
    """
    condition: Condition = from_json(text, Condition)
    return condition


def _reparsed(text: str) -> Condition | None:
    try:
        return parse_condition(text)
    except InvalidInput:
        return None


def wrap(text: str) -> str:
    """Parenthesise a composite argument that has a top-level comma of its own."""
    try:
        alone = len(dsl_scan.split_top(text)) == 1
    except InvalidInput:
        alone = True
    return text if alone else f"({text})"
