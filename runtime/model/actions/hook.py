"""The ``hook`` action: ``hook:EVENT`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap

_EVENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:*-]*")


@attrs.frozen(kw_only=True)
class HookAction:
    """Runs the hook commands configured for ``event`` with the event JSON on stdin."""

    TAG: ClassVar[str] = "hook"
    event: str


def _parse(rest: str, body: str) -> HookAction:
    if not _EVENT.fullmatch(rest):
        raise invalid(
            f"bad hook event {show(rest)}",
            rest,
            ("hook:EVENT with EVENT made of letters, digits and _ . : * -",),
        )
    return HookAction(event=rest)


KIND = Kind(
    cls=HookAction,
    forms=("hook:EVENT",),
    prefixes=(("hook:", _parse),),
    format=lambda a: f"hook:{a.event}",
    breaker_key=lambda a, keying: cap(f"hook:{a.event}"),
)
