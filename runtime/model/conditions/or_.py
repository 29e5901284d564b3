"""The ``or`` condition: ``or(A, B, …)``, ``any_of(…)`` (docs/actions-and-conditions.md).

``Condition`` is bound here by the family's ``__init__`` (see :mod:`.and_`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from gnomon.runtime.model.conditions.and_ import joined, shared_key
from gnomon.runtime.model.kinds import Kind

if TYPE_CHECKING:
    from gnomon.runtime.model.conditions import Condition


@attrs.frozen(kw_only=True)
class AnyOf:
    """True when one child is true; an error when none is true and one errs."""

    TAG: ClassVar[str] = "or"
    children: tuple[Condition, ...]


KIND = Kind(
    cls=AnyOf,
    forms=("or(A, B, …)",),
    format=lambda c: joined("or", c.children),
    breaker_key=lambda c, keying: shared_key(c.children, keying),
    children=lambda c: c.children,
    rebuild=lambda c, kids: AnyOf(children=kids),
)
