"""The ``not`` condition: ``not A``, ``not(A)`` (docs/actions-and-conditions.md).

``Condition`` is bound here by the family's ``__init__`` (see :mod:`.and_`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from gnomon.runtime.model.kinds import Kind

if TYPE_CHECKING:
    from gnomon.runtime.model.conditions import Condition


@attrs.frozen(kw_only=True)
class Not:
    """The negation of ``child``; the negation of an error is an error."""

    TAG: ClassVar[str] = "not"
    child: Condition


def _format(c: Not) -> str:
    from gnomon.runtime.model.condition_dsl import format_condition  # the DSL drives this

    return f"not {format_condition(c.child)}"


KIND = Kind(
    cls=Not,
    forms=("not A", "not(A)"),
    format=_format,
    breaker_key=lambda c, keying: keying.condition(c.child),
    children=lambda c: (c.child,),
    rebuild=lambda c, kids: Not(child=kids[0]),
)
