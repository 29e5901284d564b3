"""The ``file`` condition: ``file:PATH``, ``file:PATH>=BYTES``
(docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import ClassVar

import attrs

from gnomon.runtime.model import bounds, dsl_scan
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?)?b?\s*", re.IGNORECASE)
MAX_SIZE = 2**62


@attrs.frozen(kw_only=True)
class FileCondition:
    """``path`` exists, is at least ``min_size`` bytes, and unchanged for ``stable_for`` s."""

    TAG: ClassVar[str] = "file"
    path: str
    min_size: int = 0
    stable_for: float = attrs.field(default=0.0, validator=bounds.any_duration)


def _parse(rest: str, body: str) -> FileCondition:
    path, min_size = rest, 0
    for pos in dsl_scan.rfind_all(rest, ">"):
        strict = not rest.startswith(">=", pos)
        size = _size(rest[pos + (1 if strict else 2) :])
        if size is not None:
            path, min_size = rest[:pos].strip(), size + (1 if strict else 0)
            break
    if not path:
        raise invalid(
            f"file condition needs a path: {show(body)}", body, ("file:PATH", "file:PATH>=BYTES")
        )
    return FileCondition(path=path, min_size=min_size)


def _size(text: str) -> int | None:
    """Bytes of ``10k``, ``5MiB``, ``1.5 GB``, ``512``; ``None`` when not a size."""
    match = _SIZE.fullmatch(text)
    if not match:
        return None
    number, unit = match.group(1), (match.group(2) or "").lower()
    base = 1024 if unit.endswith("i") else 1000
    value = Fraction(number[:40]) * base ** ("_kmgt".index(unit[0]) if unit else 0)
    if len(number) > 40 or value > MAX_SIZE or value.denominator != 1:
        raise invalid(
            f"bad size {show(text.strip())}: a whole number of bytes up to 2**62",
            text.strip(),
            ("10k", "5MiB", "512"),
        )
    return int(value)


def _format(c: FileCondition) -> str:
    return f"file:{c.path}>={c.min_size}" if c.min_size or ">" in c.path else f"file:{c.path}"


KIND = Kind(
    cls=FileCondition,
    forms=("file:PATH[>=BYTES]",),
    prefixes=(("file:", _parse),),
    format=_format,
    breaker_key=lambda c, keying: cap(f"file:{c.path}"),
)
