"""Condition types: what a wait polls for (docs/actions-and-conditions.md).

Evaluation is three-valued — true, false or error — and lives in the actors; these are
pure descriptions. The DSL is in :mod:`gnomon.runtime.model.condition_dsl`. Every type
carries a stable ``TAG`` used on the wire (never the Python class name).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import attrs

from gnomon.runtime.model import bounds


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


@attrs.frozen(kw_only=True)
class TcpCondition:
    """A TCP connection to ``host:port`` succeeds."""

    TAG: ClassVar[str] = "tcp"
    host: str
    port: int
    timeout: float = attrs.field(default=5.0, validator=bounds.positive_duration)


@attrs.frozen(kw_only=True)
class FileCondition:
    """``path`` exists, is at least ``min_size`` bytes, and unchanged for ``stable_for`` s."""

    TAG: ClassVar[str] = "file"
    path: str
    min_size: int = 0
    stable_for: float = attrs.field(default=0.0, validator=bounds.any_duration)


@attrs.frozen(kw_only=True)
class ShellCondition:
    """``/bin/sh -c command`` exits with ``expect_exit``."""

    TAG: ClassVar[str] = "shell"
    command: str
    expect_exit: int = 0
    bypass_safety: bool = False


@attrs.frozen(kw_only=True)
class OutputCondition:
    """The output of ``/bin/sh -c command`` (``source`` stream) matches ``pattern``."""

    TAG: ClassVar[str] = "regex"
    command: str
    pattern: str
    source: Literal["stdout", "stderr", "combined"] = "stdout"
    bypass_safety: bool = False


@attrs.frozen(kw_only=True)
class DockerCondition:
    """Containers named ``name`` (or every container starting with it when ``prefix``) are
    running, or healthy when ``state == "healthy"``. Checked through the ``docker`` CLI as
    an argv list, never a shell string."""

    TAG: ClassVar[str] = "docker"
    name: str
    prefix: bool = False
    state: Literal["running", "healthy"] = "running"


@attrs.frozen(kw_only=True)
class K8sCondition:
    """A Kubernetes resource (or every resource whose name starts with ``name`` when
    ``prefix``) has ``condition`` True; ``None`` means ``Ready``, or ``Available`` for
    deployments. Checked through ``kubectl`` as an argv list."""

    TAG: ClassVar[str] = "k8s"
    kind: str
    name: str
    namespace: str | None = None
    prefix: bool = False
    condition: str | None = None


@attrs.frozen(kw_only=True)
class LlmCondition:
    """An LLM answers ``question`` (with the output of ``context_cmd`` appended) and the
    answer passes ``passes_if``: ``yes``, ``no``, or a regex."""

    TAG: ClassVar[str] = "llm"
    question: str
    context_cmd: str | None = None
    passes_if: str = "yes"
    model: str | None = None
    max_tokens: int = 120


@attrs.frozen(kw_only=True)
class AllOf:
    """True when every child is true; an error when none is false and one errs."""

    TAG: ClassVar[str] = "and"
    children: tuple[Condition, ...]


@attrs.frozen(kw_only=True)
class AnyOf:
    """True when one child is true; an error when none is true and one errs."""

    TAG: ClassVar[str] = "or"
    children: tuple[Condition, ...]


@attrs.frozen(kw_only=True)
class Not:
    """The negation of ``child``; the negation of an error is an error."""

    TAG: ClassVar[str] = "not"
    child: Condition


Condition = (
    HttpCondition
    | TcpCondition
    | FileCondition
    | ShellCondition
    | OutputCondition
    | DockerCondition
    | K8sCondition
    | LlmCondition
    | AllOf
    | AnyOf
    | Not
)
CONDITION_TYPES: tuple[type, ...] = (
    HttpCondition,
    TcpCondition,
    FileCondition,
    ShellCondition,
    OutputCondition,
    DockerCondition,
    K8sCondition,
    LlmCondition,
    AllOf,
    AnyOf,
    Not,
)
