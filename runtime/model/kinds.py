"""What every action and condition type declares once: its :class:`Kind`.

A type's module (``runtime/model/actions/<tag>.py``, ``runtime/model/conditions/<tag>.py``)
holds its attrs class and one :class:`Kind` naming its pure hooks — DSL forms and parsers,
the formatter, the breaker key, what it shows the shell policy and the token limits, the
text fields that may carry a secret, and (for composites) its children. The family's
``__init__`` lists the kinds in DSL order: that tuple is the model-side registry. The
actor side (``actors/actions``, ``actors/conditions``) keys its executors and evaluators
by the same tags; ``tests/unit/test_registries.py`` fails when a type lacks a hook on
either side (docs/architecture.md, "Actions and conditions").

Pure: no trio, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import attrs

__all__ = [
    "DEFAULT_MODEL",
    "MAX_KEY",
    "Keying",
    "Kind",
    "KindIndex",
    "PolicyCommand",
    "cap",
    "http_key",
    "model_key",
]

T = TypeVar("T")

MAX_KEY = 120
DEFAULT_MODEL = "default"
_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@attrs.frozen
class PolicyCommand:
    """A command of a part that a shell will parse (checked by the shell policy);
    ``note`` is appended to where it was found (`` (llm context)``)."""

    command: str
    bypass: bool = False
    note: str = ""


@attrs.frozen(kw_only=True)
class Keying:
    """What a breaker-key hook may need besides its part.

    Attributes:
        default_model: the model name keyed for parts that leave it unset: the daemon
            passes its configured ``llm.model`` (:data:`DEFAULT_MODEL`, ``"default"``,
            only where no configuration is at hand).
        shell: the key of a shell command (normalised, redacted, capped) — the
            normaliser is the shell policy's, in ``actors/core``, so it is passed in.
        condition: the key of another condition (for composites).
    """

    default_model: str
    shell: Callable[[str], str]
    condition: Callable[[Any], str]


def _none(part: Any) -> tuple[PolicyCommand, ...]:
    return ()


def _never(part: Any) -> bool:
    return False


def _leaf(part: Any) -> tuple[Any, ...]:
    return ()


@attrs.frozen(kw_only=True)
class Kind(Generic[T]):
    """The pure hooks of one action or condition type (module docstring).

    Attributes:
        cls: the attrs class; its ``TAG`` is the type's name everywhere.
        forms: the DSL forms shown in errors and help, in DSL order.
        prefixes: ``(prefix, parse(rest, body))`` pairs; a body starting with ``prefix``
            (case-insensitive) is this type's or an error, never another type's.
        match: the forms without a prefix, tried after every type's prefixes: the part,
            or ``None`` when ``body`` is not this type's; raises ``InvalidInput``.
        format: the DSL text of a part (fields the DSL cannot carry are dropped).
        breaker_key: the breaker key of a part (docs/actions-and-conditions.md).
        policy_commands: the commands the shell policy checks.
        runs_local: whether the part runs a local command (the token's ``shell`` limit).
        secret_fields: text fields masked in every view of a spec.
        children: the parts a composite holds, in order (empty for a leaf).
        rebuild: a composite with new children (same order); unused for a leaf.
    """

    cls: type[T]
    forms: tuple[str, ...]
    prefixes: tuple[tuple[str, Callable[[str, str], T]], ...] = ()
    match: Callable[[str], T | None] | None = None
    format: Callable[[T], str]
    breaker_key: Callable[[T, Keying], str]
    policy_commands: Callable[[T], tuple[PolicyCommand, ...]] = _none
    runs_local: Callable[[T], bool] = _never
    secret_fields: tuple[str, ...] = ()
    children: Callable[[T], tuple[Any, ...]] = _leaf
    rebuild: Callable[[T, tuple[Any, ...]], T] | None = None

    @property
    def tag(self) -> str:
        """The type's public name (``action_type``, the wire's ``type``)."""
        tag: str = getattr(self.cls, "TAG")  # noqa: B009 - every part class has one
        return tag


class KindIndex:
    """A family's registry — its kinds in DSL order — and what is derived from it.

    Args:
        article_family: the family with its article, for errors (``an action``).
        kinds: the kinds, in DSL order (errors and help list the forms in this order).
    """

    def __init__(self, article_family: str, kinds: tuple[Kind[Any], ...]) -> None:
        self.kinds = kinds
        self.types: tuple[type, ...] = tuple(k.cls for k in kinds)
        self.tags: tuple[str, ...] = tuple(k.tag for k in kinds)
        self.forms: tuple[str, ...] = tuple(form for k in kinds for form in k.forms)
        self._family = article_family
        self._by_type: dict[type, Kind[Any]] = {k.cls: k for k in kinds}

    def of(self, part: object) -> Kind[Any]:
        """The kind of ``part``.

        Raises:
            TypeError: ``part`` is not of this family.
        """
        kind = self._by_type.get(type(part))
        if kind is None:
            raise TypeError(f"not {self._family}: {part!r}")
        return kind


def cap(key: str) -> str:
    """``key``, or its first characters and a hash of the whole when over :data:`MAX_KEY`."""
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{key[: MAX_KEY - 10]}…#{digest}"


def http_key(url: str) -> str:
    """``host:port`` of ``url``; ``http:invalid`` when it does not parse."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "http:invalid"
    if not host:
        return "http:invalid"
    port = port or _PORTS.get(parts.scheme.lower(), 80)
    host = f"[{host}]" if ":" in host else host
    return f"{host.lower()}:{port}"


def model_key(model: str | None, keying: Keying) -> str:
    """``llm:MODEL``; ``llm:`` + ``keying.default_model`` when ``model`` is unset (the
    daemon's configured ``llm.model``: the model such a part calls)."""
    return cap(f"llm:{model or keying.default_model}")
