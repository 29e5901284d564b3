"""The evaluators of the condition types, one module per type (named after its ``TAG``;
``and_``, ``or_``, ``not_`` for the Python keywords), and their registry
:data:`EVALUATORS` (docs/architecture.md, "Actions and conditions").

Each module's ``evaluator(deps)`` builds the type's check from the daemon's
:class:`~gnomon.actors.exec.evaluator.EvalDeps`; the type itself, its DSL, breaker key and
policy view are in ``runtime/model/conditions/<tag>.py``.
``tests/unit/test_registries.py`` checks that both registries list the same types and
that every hook is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gnomon.actors.conditions import (
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

if TYPE_CHECKING:
    from collections.abc import Callable

    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["EVALUATORS"]

#: ``TAG`` → the type's ``evaluator(deps)`` hook.
EVALUATORS: dict[str, Callable[[EvalDeps], ConditionCheck[Any]]] = {
    "http": http.evaluator,
    "tcp": tcp.evaluator,
    "file": file.evaluator,
    "shell": shell.evaluator,
    "regex": regex.evaluator,
    "docker": docker.evaluator,
    "k8s": k8s.evaluator,
    "llm": llm.evaluator,
    "and": and_.evaluator,
    "or": or_.evaluator,
    "not": not_.evaluator,
}
