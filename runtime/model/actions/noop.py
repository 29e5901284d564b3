"""The ``noop`` action: ``noop``, ``noop: MESSAGE`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from gnomon.runtime.model.kinds import Kind


@attrs.frozen(kw_only=True)
class NoopAction:
    """Does nothing and succeeds; ``message`` becomes its output."""

    TAG: ClassVar[str] = "noop"
    message: str | None = None


KIND = Kind(
    cls=NoopAction,
    forms=("noop", "noop: MESSAGE"),
    prefixes=(("noop:", lambda rest, body: NoopAction(message=rest or None)),),
    match=lambda body: NoopAction() if body.lower() == "noop" else None,
    format=lambda a: "noop" if a.message is None else f"noop: {a.message}",
    breaker_key=lambda a, keying: "noop",
    secret_fields=("message",),
)
