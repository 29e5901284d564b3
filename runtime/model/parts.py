"""The parts of a job — its action, every condition of its wait, its fallback — and the
one walk of the composite tree (``and``/``or``/``not``), through each type's
:class:`~gnomon.runtime.model.kinds.Kind`. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from gnomon.runtime.model.actions import ACTION_KINDS, Action
from gnomon.runtime.model.conditions import CONDITION_KINDS, Condition, condition_kind
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.kinds import Kind

__all__ = ["Part", "Role", "kind_of", "map_leaves", "part_tree", "parts"]

Part = Action | Condition
#: Where in a spec a part sits.
Role = Literal["action", "condition", "fallback"]
_KINDS: dict[type, Kind[Any]] = {k.cls: k for k in (*ACTION_KINDS, *CONDITION_KINDS)}


def kind_of(part: Part) -> Kind[Any]:
    """The kind of an action or a condition.

    Raises:
        TypeError: ``part`` is neither.
    """
    kind = _KINDS.get(type(part))
    if kind is None:
        raise TypeError(f"not an action or a condition: {part!r}")
    return kind


def part_tree(part: Part) -> Iterator[Part]:
    """``part`` and, for a composite condition, every condition under it (parents first,
    children in order) — the one walk of the composite tree."""
    yield part
    for child in kind_of(part).children(part):
        yield from part_tree(child)


def parts(spec: JobSpec) -> Iterator[tuple[Role, Part]]:
    """Every part of ``spec`` with its role: the action, each condition of the wait's tree
    (composites included, parents first), then the fallback."""
    yield "action", spec.action
    if spec.wait is not None:
        for condition in part_tree(spec.wait.condition):
            yield "condition", condition
        if spec.wait.fallback is not None:
            yield "fallback", spec.wait.fallback


def map_leaves(condition: Condition, change: Callable[[Condition], Condition]) -> Condition:
    """``condition`` with ``change`` applied to every leaf, composites rebuilt around them."""
    kind = condition_kind(condition)
    if kind.rebuild is None:
        return change(condition)
    children = tuple(map_leaves(child, change) for child in kind.children(condition))
    rebuilt: Condition = kind.rebuild(condition, children)
    return rebuilt
