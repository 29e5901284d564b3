"""The ``and`` condition: ``and(A, B, …)``, ``all_of(…)`` (docs/actions-and-conditions.md).

The composites' grammar is :mod:`gnomon.runtime.model.condition_dsl`'s; this module holds
the type and its hooks. ``Condition`` (the children's type) is bound here by the family's
``__init__`` once the union exists, for the wire's type resolution.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, ClassVar

import attrs

from gnomon.runtime.model.kinds import Keying, Kind

if TYPE_CHECKING:
    from gnomon.runtime.model.conditions import Condition


@attrs.frozen(kw_only=True)
class AllOf:
    """True when every child is true; an error when none is false and one errs."""

    TAG: ClassVar[str] = "and"
    children: tuple[Condition, ...]


def joined(keyword: str, children: tuple[Condition, ...]) -> str:
    """``keyword(A, B, …)`` with each child in the DSL (parenthesised when it has a comma)."""
    from gnomon.runtime.model.condition_dsl import format_condition, wrap  # the DSL drives this

    return f"{keyword}({', '.join(wrap(format_condition(k)) for k in children)})"


def shared_key(children: tuple[Condition, ...], keying: Keying) -> str:
    """The children's key when they share one, else ``cond:`` + a hash of their keys."""
    keys = sorted({keying.condition(c) for c in children})
    if len(keys) == 1:
        return keys[0]
    return "cond:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]


KIND = Kind(
    cls=AllOf,
    forms=("and(A, B, …)",),
    format=lambda c: joined("and", c.children),
    breaker_key=lambda c, keying: shared_key(c.children, keying),
    children=lambda c: c.children,
    rebuild=lambda c, kids: AllOf(children=kids),
)
