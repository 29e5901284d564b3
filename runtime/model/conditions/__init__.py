"""Condition types: what a wait polls for (docs/actions-and-conditions.md), one module per
type.

Evaluation is three-valued — true, false or error — and lives in ``actors/conditions``;
these are pure descriptions with their DSL, breaker-key and policy hooks
(:class:`~gnomon.runtime.model.kinds.Kind`). The DSL driver is
:mod:`gnomon.runtime.model.condition_dsl`. Every type carries a stable ``TAG`` used on
the wire (never the Python class name); a module is named after its tag (``and_``,
``or_``, ``not_`` for the Python keywords).

:data:`CONDITION_KINDS` is the model-side registry, in DSL order (:data:`CONDITION_FORMS`
and error messages list the forms in this order).
"""

from __future__ import annotations

from typing import Any

from gnomon.runtime.model.conditions import (
    and_,
    docker,
    file,
    http,
    k8s,
    llm,
    not_,
    or_,
    regex,
    shell,
    tcp,
)
from gnomon.runtime.model.conditions.and_ import AllOf
from gnomon.runtime.model.conditions.docker import DockerCondition
from gnomon.runtime.model.conditions.file import FileCondition
from gnomon.runtime.model.conditions.http import HttpCondition
from gnomon.runtime.model.conditions.k8s import K8sCondition
from gnomon.runtime.model.conditions.llm import LlmCondition
from gnomon.runtime.model.conditions.not_ import Not
from gnomon.runtime.model.conditions.or_ import AnyOf
from gnomon.runtime.model.conditions.regex import OutputCondition
from gnomon.runtime.model.conditions.shell import ShellCondition
from gnomon.runtime.model.conditions.tcp import TcpCondition
from gnomon.runtime.model.kinds import Kind, KindIndex

__all__ = [
    "CONDITIONS",
    "CONDITION_FORMS",
    "CONDITION_KINDS",
    "CONDITION_TAGS",
    "CONDITION_TYPES",
    "AllOf",
    "AnyOf",
    "Condition",
    "DockerCondition",
    "FileCondition",
    "HttpCondition",
    "K8sCondition",
    "LlmCondition",
    "Not",
    "OutputCondition",
    "ShellCondition",
    "TcpCondition",
    "condition_kind",
]

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
for _composite in (and_, or_, not_):  # their children's type, for the wire's type hints
    vars(_composite)["Condition"] = Condition

#: The registry, in DSL order.
CONDITIONS = KindIndex(
    "a condition",
    (
        http.KIND,
        tcp.KIND,
        file.KIND,
        shell.KIND,
        regex.KIND,
        docker.KIND,
        k8s.KIND,
        llm.KIND,
        and_.KIND,
        or_.KIND,
        not_.KIND,
    ),
)
CONDITION_KINDS: tuple[Kind[Any], ...] = CONDITIONS.kinds
CONDITION_TYPES: tuple[type, ...] = CONDITIONS.types
CONDITION_TAGS: tuple[str, ...] = CONDITIONS.tags
CONDITION_FORMS: tuple[str, ...] = CONDITIONS.forms


def condition_kind(condition: Condition) -> Kind[Any]:
    """The kind of ``condition``.

    Raises:
        TypeError: ``condition`` is not a condition.
    """
    return CONDITIONS.of(condition)
