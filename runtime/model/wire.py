"""The one converter for the wire: JSON-RPC params and results, the store, ``--json``.

Built on ``cattrs.preconf.json`` with ``forbid_extra_keys`` and detailed validation, and
made strict where cattrs is lenient (``"5"`` is not an int, ``"false"`` is not a bool, a
string is not a list of characters). Conventions:

- tagged unions (:data:`Schedule`, :data:`Condition`, :data:`Action`) carry their member's
  ``TAG`` under the key ``"type"``; a tagged class carries it even on its own, and
  structuring a tagged class accepts (but does not require) a matching ``"type"``;
- datetimes are ISO 8601 strings with an offset; naive times are refused;
- enums travel by value, tuples as JSON lists (``headers`` as a list of ``[name, value]``
  pairs), ``dict[str, Any]`` payloads as they are.

Every structuring failure raises :class:`~gnomon.runtime.errors.InvalidInput` whose
``details`` are ``"<description> @ <path>"`` lines (cattrs ``transform_error`` style) and
whose message names the first bad field. The hooks are in
:mod:`gnomon.runtime.model.wire_hooks`, the JSON Schema generator in
:mod:`gnomon.runtime.model.wire_schema`; compiled fast paths with the same results —
encoders (:mod:`.wire_compiled`) and structure functions for the job spec and state
(:mod:`.wire_structure`) — sit in front of the converter's hooks.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar, overload

import attrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.preconf.json import JsonConverter

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.state import JobState
from gnomon.runtime.model.wire_compiled import ENCODER, Encoders
from gnomon.runtime.model.wire_hooks import (
    TAG_KEY,
    WireValueError,
    is_tagged_union,
    make_wire_converter,
    tagged_members,
)
from gnomon.runtime.model.wire_schema import build_schema, family_name
from gnomon.runtime.model.wire_structure import Structurers

T = TypeVar("T")
MAX_DEPTH = 64
_CONTAINERS = (dict, list)

__all__ = [
    "MAX_DEPTH",
    "TAG_KEY",
    "WireValueError",
    "converter",
    "from_json",
    "is_tagged_union",
    "json_schema",
    "structure",
    "tagged_members",
    "to_json",
    "unstructure",
]


converter: JsonConverter = make_wire_converter()
_ENCODERS = Encoders(converter)
#: Compiled on the first ``structure`` call (~30 ms: commands that never structure a spec
#: or a state do not pay for them): job.create, job.create_many, the store's reads.
STRUCTURERS = Structurers(converter, roots=(JobSpec, JobState))


# --- errors ------------------------------------------------------------------------------


@attrs.frozen
class _Leaf:
    exc: BaseException
    path: str


def _leaves(exc: BaseException, path: str = "$") -> list[_Leaf]:
    """Flatten a cattrs validation error into its leaf exceptions with their paths."""
    if not isinstance(exc, ClassValidationError | IterableValidationError):
        return [_Leaf(exc, path)]
    with_notes, without = exc.group_exceptions()
    out: list[_Leaf] = []
    for sub, note in with_notes:
        if isinstance(note, IterableValidationNote):
            out.extend(_leaves(sub, f"{path}[{note.index!r}]"))
        else:
            out.extend(_leaves(sub, f"{path}.{note.name}"))
    for sub in without:
        out.extend(_leaves(sub, path))
    return out


def _describe_leaf(exc: BaseException, *, with_accepted: bool = True) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unknown field(s) {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, WireValueError) and exc.accepted and with_accepted:
        return f"{exc}; accepted: {', '.join(exc.accepted)}"
    if isinstance(exc, ValueError | TypeError):
        return str(exc) if exc.args else type(exc).__name__
    return f"invalid value ({type(exc).__name__}: {exc})"


def _token_and_accepted(leaf: _Leaf) -> tuple[str, tuple[str, ...]]:
    exc = leaf.exc
    if isinstance(exc, ForbiddenExtraKeysError):
        names = tuple(a.name for a in attrs.fields(exc.cl)) if attrs.has(exc.cl) else ()
        return ", ".join(sorted(exc.extra_fields)), names
    if isinstance(exc, WireValueError):
        return (exc.token if exc.token is not None else leaf.path), exc.accepted
    return leaf.path, ()


def _type_name(cls: Any) -> str:
    members = tagged_members(cls)
    if members:
        return family_name(members).lower()
    return getattr(cls, "__name__", repr(cls))


def _invalid(exc: BaseException, cls: Any) -> InvalidInput:
    leaves = _leaves(exc)
    details = tuple(f"{_describe_leaf(leaf.exc)} @ {leaf.path}" for leaf in leaves)
    first = leaves[0]
    token, accepted = _token_and_accepted(first)
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    field = first.path.removeprefix("$").removeprefix(".") or None
    headline = f"{_describe_leaf(first.exc, with_accepted=False)} @ {first.path}"
    return InvalidInput(
        f"invalid {_type_name(cls)}: {headline}{more}",
        token=token,
        accepted=accepted,
        field=field,
        details=details,
    )


def _check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON with a value ``limit`` levels down (the input itself is level 0) before
    any recursive code sees it."""
    if limit <= 0 or (isinstance(data, _CONTAINERS) and _reaches(data, limit)):
        raise InvalidInput(f"input nested deeper than {limit} levels", token="$")


def _reaches(container: Any, levels: int) -> bool:
    """Whether ``container`` holds a value ``levels`` levels down (recursing at most
    ``levels`` deep, into dicts and lists only)."""
    if levels <= 1:
        return len(container) > 0
    for value in container.values() if isinstance(container, dict) else container:
        if value and isinstance(value, _CONTAINERS) and _reaches(value, levels - 1):
            return True
    return False


# --- public API --------------------------------------------------------------------------


def unstructure(obj: Any) -> Any:
    """The JSON-ready form of a model value (dicts, lists, strings, numbers, None).

    Raises:
        InvalidInput: a naive datetime somewhere in ``obj``.
    """
    return converter.unstructure(obj)


@overload
def structure(data: Any, cls: type[T]) -> T: ...
@overload
def structure(data: Any, cls: Any) -> Any: ...


def structure(data: Any, cls: Any) -> Any:
    """Build a ``cls`` (a model class, or a union such as ``Condition``) from JSON data.

    Typed for classes; for a union (``Condition``, ``Action | None``…) the result is
    ``Any`` — annotate the variable it goes into.

    Raises:
        InvalidInput: anything wrong with ``data``: ``details`` has one
            ``"<description> @ <path>"`` line per problem, the message names the first.
    """
    _check_depth(data)
    if not STRUCTURERS.ready:
        STRUCTURERS.install()
    try:
        return converter.structure(data, cls)
    except InvalidInput:
        raise
    except Exception as exc:  # every failure of untrusted input becomes InvalidInput
        raise _invalid(exc, cls) from None


def to_json(obj: Any) -> str:
    """``obj`` as compact JSON text (UTF-8 kept): ``json.dumps(unstructure(obj))``.

    Model classes go through compiled encoders (:mod:`.wire_compiled`) that write the
    same bytes without the converter's per-value dispatch; anything they cannot encode is
    redone by :func:`unstructure`, so errors are the converter's.

    Raises:
        InvalidInput: as :func:`unstructure`.
    """
    try:
        return _ENCODERS.to_json(obj)
    except Exception:
        return ENCODER.encode(unstructure(obj))


@overload
def from_json(text: str | bytes, cls: type[T]) -> T: ...
@overload
def from_json(text: str | bytes, cls: Any) -> Any: ...


def from_json(text: str | bytes, cls: Any) -> Any:
    """Parse JSON text and :func:`structure` it as ``cls``.

    Raises:
        InvalidInput: the text is not JSON (the message gives line and column), or as
            :func:`structure`.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not valid JSON: {exc}", token=str(text)[:80]) from None
    except RecursionError:
        raise InvalidInput("JSON nested too deeply", token=str(text)[:80]) from None
    return structure(data, cls)


def json_schema(cls: Any) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``cls``'s wire form, with its ``$defs``.

    Tagged unions are ``oneOf`` whose members have ``"type": {"const": TAG}``.

    Raises:
        TypeError: ``cls`` holds a type the wire does not carry.
    """
    return build_schema(cls, unstructure)
