"""The strict cattrs hooks behind :mod:`gnomon.runtime.model.wire`.

cattrs is lenient where a wire must not be: ``str(5)`` makes a string, ``bool("false")``
is true, a string structures into a list of characters. These hooks accept exactly the
JSON shape of each type and raise :class:`WireValueError` (a ``ValueError`` carrying the
offending token and the accepted forms) otherwise; cattrs' detailed validation adds the
path. Tagged classes carry their ``TAG`` under ``"type"``; unions of them dispatch on it.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Callable
from datetime import datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any, Literal, Union, get_args, get_origin

import attrs
from cattrs import Converter
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.preconf.json import JsonConverter, make_converter

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.wire_errors import WireValueError

TAG_KEY = "type"

__all__ = [
    "TAG_KEY",
    "WireValueError",
    "is_tagged_class",
    "is_tagged_union",
    "make_wire_converter",
    "tagged_members",
]


# --- type predicates -------------------------------------------------------------------


def _is_union(t: Any) -> bool:
    return get_origin(t) in (Union, types.UnionType)


def tagged_members(t: Any) -> tuple[type, ...]:
    """The tagged classes of a union type (``None`` left out); ``()`` for other types."""
    if not _is_union(t):
        return ()
    members = tuple(a for a in get_args(t) if a is not type(None))
    if members and all(is_tagged_class(m) for m in members):
        return members
    return ()


def is_tagged_union(t: Any) -> bool:
    """True for a union of tagged classes, optionally with ``None``."""
    return bool(tagged_members(t))


def is_tagged_class(t: Any) -> bool:
    """True for an attrs class with a ``TAG`` class variable."""
    return isinstance(t, type) and attrs.has(t) and isinstance(getattr(t, "TAG", None), str)


def _is_optional(t: Any) -> bool:
    args = get_args(t) if _is_union(t) else ()
    return len(args) == 2 and type(None) in args and not is_tagged_union(t)


def _is_tuple(t: Any) -> bool:
    return t is tuple or get_origin(t) is tuple


def _is_dict(t: Any) -> bool:
    return t is dict or get_origin(t) is dict


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _is_any(t: Any) -> bool:
    return t is Any


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(value: Any) -> str:
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return f"{kind.get(type(value), type(value).__name__)} {_short(value)}"


def _wrong(expected: str, value: Any) -> WireValueError:
    return WireValueError(f"expected {expected}, got {_describe(value)}", token=_short(value))


# --- strict scalar hooks -----------------------------------------------------------------


def _structure_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise _wrong("a string", value)
    return value


def _structure_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong("true or false", value)
    return value


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong("an integer", value)
    return value


def _structure_float(value: Any, _: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _wrong("a number", value)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise WireValueError(f"expected a finite number, got {_short(value)}", token=_short(value))
    return number


def _structure_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise _wrong("an ISO 8601 time string", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise WireValueError(
            f"bad time {value!r}", token=value, accepted=("ISO 8601 with offset",)
        ) from None
    if parsed.utcoffset() is None:
        raise WireValueError(
            f"time {value!r} has no UTC offset",
            token=value,
            accepted=("2026-04-25T14:00:00+02:00", "2026-04-25T12:00:00Z"),
        )
    return parsed


def _structure_any(value: Any, _: Any) -> Any:
    return value


# --- hook factories ----------------------------------------------------------------------


def _structure_enum(value: Any, cls: type[Enum]) -> Enum:
    try:
        return cls(value)
    except (ValueError, TypeError):
        raise WireValueError(
            f"{value!r} is not a valid {cls.__name__}",
            token=str(value),
            accepted=tuple(str(m.value) for m in cls),
        ) from None


def _literal_hook(t: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(t)

    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, str | int) and value in allowed and not isinstance(value, bool):
            return value
        raise WireValueError(
            f"{value!r} is not allowed here",
            token=str(value),
            accepted=tuple(str(a) for a in allowed),
        )

    return structure


def _optional_hook(t: Any, conv: Converter) -> Callable[[Any, Any], Any]:
    inner_type = next(a for a in get_args(t) if a is not type(None))

    def structure(value: Any, _: Any) -> Any:
        if value is None:
            return None
        return conv.get_structure_hook(inner_type)(value, inner_type)

    return structure


def _element_errors(
    pairs: list[tuple[Any, Any]], structure_as: Callable[[Any, Any], Any], tup: Any
) -> tuple[list[Any], list[Exception]]:
    out, errors = [], []
    for ix, (elem_type, elem) in enumerate(pairs):
        try:
            out.append(structure_as(elem, elem_type))
        except Exception as exc:
            note = IterableValidationNote(f"Structuring {tup} @ index {ix}", ix, elem_type)
            exc.__notes__ = [*getattr(exc, "__notes__", []), note]
            errors.append(exc)
    return out, errors


def _tuple_hook(t: Any, conv: Converter) -> Callable[[Any, Any], tuple[Any, ...]]:
    args = get_args(t)
    homogeneous = not args or (len(args) == 2 and args[1] is Ellipsis)

    def structure_as(elem: Any, elem_type: Any) -> Any:
        return conv.get_structure_hook(elem_type)(elem, elem_type)

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise _wrong("a list", value)
        if homogeneous:
            pairs = [(args[0] if args else Any, v) for v in value]
        elif len(value) != len(args):
            raise WireValueError(f"expected a list of {len(args)} items, got {len(value)}")
        else:
            pairs = list(zip(args, value, strict=True))
        out, errors = _element_errors(pairs, structure_as, t)
        if errors:
            raise IterableValidationError(f"While structuring {t!r}", errors, t)
        return tuple(out)

    return structure


def _dict_hook(t: Any, conv: Converter) -> Callable[[Any, Any], dict[str, Any]]:
    args = get_args(t)
    val_type = args[1] if len(args) == 2 else Any

    def structure(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _wrong("an object", value)
        if val_type is Any:
            return dict(value)
        out, errors = {}, []
        hook = conv.get_structure_hook(val_type)
        for key, item in value.items():
            try:
                out[key] = hook(item, val_type)
            except Exception as exc:
                note = IterableValidationNote(f"Structuring value @ key {key!r}", key, val_type)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {t!r}", errors, t)
        return out

    return structure


def _attrs_structure_hook(cls: type, conv: Converter) -> Callable[[Any, Any], Any]:
    inner: Callable[[Any, Any], Any] = conv.gen_structure_attrs_fromdict(cls)
    tag = getattr(cls, "TAG", None) if is_tagged_class(cls) else None

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _wrong(f"an object ({cls.__name__})", value)
        if tag is not None and TAG_KEY in value:
            if value[TAG_KEY] != tag:
                raise WireValueError(
                    f"type {value[TAG_KEY]!r} does not match {tag!r}",
                    token=str(value[TAG_KEY]),
                    accepted=(tag,),
                )
            value = {k: v for k, v in value.items() if k != TAG_KEY}
        try:
            return inner(value, cls)
        except ClassValidationError as exc:
            raise _locate_init_error(conv, exc, cls, value) from None

    return structure


def _locate_init_error(
    conv: Converter, exc: ClassValidationError, cls: type, value: dict[str, Any]
) -> ClassValidationError:
    """Give a validator error raised by ``cls(...)`` the path of the field that failed.

    The generated structure function reports a failing ``__init__`` at the class, not at
    the field; this reruns each field validator alone to find the culprit.
    """
    if len(exc.exceptions) != 1 or hasattr(exc.exceptions[0], "__notes__"):
        return exc
    for field in attrs.fields(cls):
        if field.validator is None or field.name not in value:
            continue
        try:
            item = conv.structure(value[field.name], field.type)
            field.validator(None, field, item)
        except Exception as field_exc:
            note = AttributeValidationNote(
                f"Validating {cls.__qualname__} @ attribute {field.name}", field.name, field.type
            )
            field_exc.__notes__ = [note]
            return ClassValidationError(exc.message, [field_exc], cls)
    return exc


def _attrs_unstructure_hook(cls: type, conv: Converter) -> Callable[[Any], dict[str, Any]]:
    inner: Callable[[Any], dict[str, Any]] = conv.gen_unstructure_attrs_fromdict(cls)
    tag = cls.TAG  # type: ignore[attr-defined]

    def unstructure(value: Any) -> dict[str, Any]:
        return {TAG_KEY: tag, **inner(value)}

    return unstructure


def _tagged_union_hook(t: Any, conv: Converter) -> Callable[[Any, Any], Any]:
    members = tagged_members(t)
    by_tag: dict[str, type] = {m.TAG: m for m in members}  # type: ignore[attr-defined]
    accepted = tuple(by_tag)
    optional = type(None) in get_args(t)

    def structure(value: Any, _: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise WireValueError(
                f'expected an object with a "type" key, got {_describe(value)}',
                accepted=accepted,
            )
        if TAG_KEY not in value:
            raise WireValueError('missing the "type" key', accepted=accepted)
        tag = value[TAG_KEY]
        cls = by_tag.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise WireValueError(f"unknown type {tag!r}", token=str(tag), accepted=accepted)
        return conv.get_structure_hook(cls)(value, cls)

    return structure


def make_wire_converter() -> JsonConverter:
    """A JSON converter with gnomon's strict hooks (see the module docstring)."""
    conv = make_converter(forbid_extra_keys=True, detailed_validation=True)
    for cls, hook in (
        (str, _structure_str),
        (bool, _structure_bool),
        (int, _structure_int),
        (float, _structure_float),
        (datetime, _structure_datetime),
    ):
        conv.register_structure_hook(cls, hook)
    conv.register_structure_hook_func(_is_any, _structure_any)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_unstructure_hook_factory(_is_tuple, _tuple_unstructure_hook)
    # Registered per enum base: StrEnum's MRO puts ``str`` before ``Enum``.
    for base in (Enum, StrEnum, IntEnum):
        conv.register_structure_hook(base, _structure_enum)
        conv.register_unstructure_hook(base, _enum_value)
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_tuple, _tuple_hook)
    conv.register_structure_hook_factory(_is_dict, _dict_hook)
    conv.register_structure_hook_factory(_is_optional, _optional_hook)
    conv.register_structure_hook_factory(attrs.has, _attrs_structure_hook)
    conv.register_unstructure_hook_factory(is_tagged_class, _attrs_unstructure_hook)
    conv.register_structure_hook_factory(is_tagged_union, _tagged_union_hook)
    return conv


def _unstructure_datetime(value: datetime) -> str:
    if value.utcoffset() is None:
        raise InvalidInput(f"naive time {value.isoformat()} cannot go on the wire")
    return value.isoformat()


def _enum_value(value: Enum) -> Any:
    return value.value


def _tuple_unstructure_hook(_t: Any, conv: Converter) -> Callable[[tuple[Any, ...]], list[Any]]:
    def unstructure(value: tuple[Any, ...]) -> list[Any]:
        return [conv.unstructure(v) for v in value]

    return unstructure
