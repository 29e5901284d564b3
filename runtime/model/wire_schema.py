"""JSON Schema (draft 2020-12) of the wire form of model types.

It describes exactly what :mod:`gnomon.runtime.model.wire` emits and accepts: attrs
classes as closed objects (``additionalProperties: false``) whose required properties
are the fields without a default; tagged unions as ``oneOf`` over their members, each
member an object whose ``"type"`` property is a ``const`` of its ``TAG``; datetimes as
``date-time`` strings; enums by value; tuples as arrays. Every attrs class and tagged
union is a ``$defs`` entry referenced by ``$ref``, so recursive types (``AllOf``,
``Not``) are finite. Used for the MCP tool schemas and ``docs/protocol.md``.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import attrs

from gnomon.runtime.model.wire_hooks import TAG_KEY, is_tagged_class, tagged_members

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime: {"type": "string", "format": "date-time"},
    Any: {},
}

__all__ = ["DIALECT", "build_schema", "family_name"]


def build_schema(cls: Any, unstructure: Callable[[Any], Any]) -> dict[str, Any]:
    """The schema of ``cls`` (a model class or a tagged union) with its ``$defs``.

    ``unstructure`` renders field defaults in their wire form.

    Raises:
        TypeError: ``cls`` contains a type the wire does not carry.
    """
    builder = _Builder(unstructure)
    root = builder.inline(cls)
    return {"$schema": DIALECT, **root, "$defs": dict(sorted(builder.defs.items()))}


def family_name(members: tuple[type, ...]) -> str:
    """``Condition``, ``Action``, ``Schedule``: the model module (or package) the members
    are defined in, singular and capitalised."""
    module = members[0].__module__.removeprefix("gnomon.runtime.model.")
    return module.split(".")[0].removesuffix("s").capitalize()


def _union_name(members: tuple[type, ...]) -> str:
    """``Condition``, ``Action``, ``Schedule``: named after the members' module."""
    return family_name(members)


def _description(cls: type) -> str | None:
    doc = inspect.getdoc(cls)
    if not doc:
        return None
    return " ".join(doc.split("\n\n", 1)[0].split())


class _Builder:
    """Collects ``$defs`` while turning types into schemas."""

    def __init__(self, unstructure: Callable[[Any], Any]) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.unstructure = unstructure

    def inline(self, t: Any) -> dict[str, Any]:
        """The schema of ``t`` itself (its definitions still land in ``defs``)."""
        members = tagged_members(t)
        if members and type(None) not in get_args(t):
            return {"oneOf": [self.ref(m) for m in members]}
        if isinstance(t, type) and attrs.has(t):
            return self.object_schema(t)
        return self.schema(t)

    def ref(self, t: Any) -> dict[str, Any]:
        """A ``$ref`` to the definition of an attrs class or tagged union, made on demand."""
        members = tagged_members(t)
        name = _union_name(members) if members else t.__name__
        if name not in self.defs:
            self.defs[name] = {}  # placeholder first: recursion stops here
            if members:
                self.defs[name] = {"oneOf": [self.ref(m) for m in members]}
            else:
                self.defs[name] = self.object_schema(t)
        return {"$ref": f"#/$defs/{name}"}

    def schema(self, t: Any) -> dict[str, Any]:
        """The schema of a field type."""
        if t in _SCALARS:
            return dict(_SCALARS[t])
        if isinstance(t, type) and issubclass(t, Enum):
            return {"type": "string", "enum": [m.value for m in t], "title": t.__name__}
        if isinstance(t, type) and attrs.has(t):
            return self.ref(t)
        origin, args = get_origin(t), get_args(t)
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (Union, types.UnionType):
            return self.union_schema(t, args)
        if origin is tuple:
            return self.tuple_schema(args)
        if origin is dict:
            values = self.schema(args[1]) if args else {}
            return (
                {"type": "object", "additionalProperties": values} if values else {"type": "object"}
            )
        raise TypeError(f"no JSON schema for {t!r}")

    def union_schema(self, t: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        """A tagged union as a ``$ref`` (or ``null``); other unions as ``anyOf``."""
        if len(tagged_members(t)) < 2:
            return {"anyOf": [self.schema(a) for a in args]}
        if type(None) not in args:
            return self.ref(t)
        return {"anyOf": [self.ref(_strip_none(t)), {"type": "null"}]}

    def tuple_schema(self, args: tuple[Any, ...]) -> dict[str, Any]:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.schema(args[0])}
        return {
            "type": "array",
            "prefixItems": [self.schema(a) for a in args],
            "items": False,
            "minItems": len(args),
            "maxItems": len(args),
        }

    def object_schema(self, cls: type) -> dict[str, Any]:
        """A closed object with one property per field; the tag first for tagged classes."""
        attrs.resolve_types(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        if is_tagged_class(cls):
            properties[TAG_KEY] = {"const": cls.TAG}  # type: ignore[attr-defined]
            required.append(TAG_KEY)
        for field in attrs.fields(cls):
            if not field.init:  # not part of the wire form (an encoder's cache)
                continue
            prop = self.schema(field.type)
            if field.default is attrs.NOTHING:
                required.append(field.name)
            else:
                prop["default"] = self.unstructure(_default_value(field))
            properties[field.name] = prop
        out: dict[str, Any] = {"type": "object", "title": cls.__name__}
        description = _description(cls)
        if description:
            out["description"] = description
        out |= {"properties": properties, "required": required, "additionalProperties": False}
        return out


def _strip_none(t: Any) -> Any:
    """``A | B | None`` → ``A | B``."""
    return Union[tuple(a for a in get_args(t) if a is not type(None))]  # noqa: UP007


def _default_value(field: attrs.Attribute[Any]) -> Any:
    default = field.default
    factory = getattr(default, "factory", None)
    takes_self = getattr(default, "takes_self", None)
    if callable(factory) and takes_self is not None:  # an attrs.Factory
        return None if takes_self else factory()
    return default
