"""Compiled encoders behind :func:`gnomon.runtime.model.wire.to_json` (the store's hot path).

cattrs' generated functions call a hook per field, and the tuple and union hooks dispatch
on each value's class through the converter: for a ``JobState`` that is ~300 calls. The
functions here are generated from the same type hints and the converter's own hooks;
they inline what is trivial (identity, ``Enum._value_``, UTC datetimes, ``None`` of
optionals) and call the converter's hook for anything else, so their dicts equal
``converter.unstructure(obj)``.

An untagged record (``JobState``, ``FireState``, ``RunRecord``…) is written as text by
one ``%`` template per class: strings, ints, finite floats, bools, string enums, UTC
datetimes and ``None`` of optionals inline (an int, a float or a bool only when the
value's class is exactly that — and a float only when finite —, else through the JSON
encoder, as ``json.dumps`` would write it), nested records
and tuple items by their own class's text, anything else by the JSON encoder on the
compiled dict — the same bytes as ``json.dumps``, at about half the cost.
A value of a class with an ``init=False`` ``_wire_text`` slot (``JobSpec``,
``Transition``: frozen, shared by a job's successive states) is encoded once and its text
kept in the slot (written by its own template when it has one), then spliced into every
later encoding that holds it (so its dicts must not be mutated in place; nothing does).
Any error (a value of an unexpected type) is left to the caller, which redoes the work
through the converter. ``tests/runtime/test_store_encoding.py`` checks the equality.
"""

from __future__ import annotations

import json
import sys
import threading
import types
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from json.encoder import encode_basestring
from typing import Any, Union, get_args, get_origin, get_type_hints

import attrs
from cattrs import Converter
from cattrs.fns import identity

from gnomon.runtime.model.json_fast import fast_encode
from gnomon.runtime.model.wire_hooks import TAG_KEY

ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_encode = fast_encode(ENCODER)
_TUPLE_HOOK = "_tuple_unstructure_hook.<locals>.unstructure"
_TAGGED_HOOK = "_attrs_unstructure_hook.<locals>.unstructure"

Hook = Callable[[Any], Any]


def _optional_of(t: Any) -> Any:
    """``X`` for ``X | None``, else ``None``."""
    args = get_args(t)
    if get_origin(t) in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        return args[0] if args[1] is type(None) else args[1]
    return None


class Encoders:
    """Compiled equivalents of ``converter``'s unstructure hooks (built lazily, cached)."""

    def __init__(self, converter: Converter) -> None:
        self._conv = converter
        self._hooks: dict[type, Hook] = {}
        self._texts: dict[type, Callable[[Any], str]] = {}
        self._lock = threading.RLock()  # the store's thread and the trio thread compile
        self._datetime_hook = converter.get_unstructure_hook(datetime)
        self._enum_hook = converter.get_unstructure_hook(Enum)
        self._union = type(converter)._unstructure_union

    def datetime(self, value: datetime) -> str:
        if value.tzinfo is UTC:
            return value.isoformat()
        return str(self._datetime_hook(value))  # refuses naive times

    def unstructure(self, value: Any) -> Any:
        """``converter.unstructure(value)``: dispatch on the value's class."""
        hook = self._hooks.get(value.__class__)
        if hook is None:
            hook = self.hook(value.__class__)
        return hook(value)

    def to_json(self, value: Any) -> str:
        """``json.dumps(converter.unstructure(value))``, compact, UTF-8 kept."""
        text = self._texts.get(value.__class__)
        if text is None:
            text = self._text(value.__class__)
        return text(value)

    def hook(self, cls: type) -> Hook:
        """The compiled equivalent of ``converter.get_unstructure_hook(cls)``."""
        hook = self._hooks.get(cls)
        if hook is not None:
            return hook
        with self._lock:
            if cls in self._hooks:
                return self._hooks[cls]
            slow = self._conv.get_unstructure_hook(cls)
            generated = getattr(slow, "__qualname__", "")
            if cls is datetime and slow is self._datetime_hook:
                hook = self.datetime
            elif issubclass(cls, Enum) and slow is self._enum_hook:
                hook = _enum_value
            elif attrs.has(cls) and generated in (f"unstructure_{cls.__name__}", _TAGGED_HOOK):
                self._hooks[cls] = lambda value: self._hooks[cls](value)  # contains itself
                tag = getattr(cls, "TAG", None) if generated == _TAGGED_HOOK else None
                hook = self._compile_dict(cls, tag)
            else:
                hook = slow
            self._hooks[cls] = hook
            return hook

    # -- dicts ----------------------------------------------------------------------------

    def _compile_dict(self, cls: type, tag: str | None) -> Hook:
        """One function building ``cls``'s dict, fields in attrs order (``"type"`` first)."""
        names: dict[str, Any] = {"_rt": self.unstructure}
        items = [] if tag is None else [f"{TAG_KEY!r}: {tag!r}"]
        items += [f"{key!r}: {expr}" for key, expr in self._field_exprs(cls, names)]
        return _define(cls, f"return {{{', '.join(items)}}}", names)

    def _field_exprs(self, cls: type, names: dict[str, Any]) -> list[tuple[str, str]]:
        hints = get_type_hints(cls)
        return [
            (f.name, self._expr(hints[f.name], f"o.{f.name}", names))
            for f in attrs.fields(cls)
            if f.init  # cattrs leaves out init=False fields
        ]

    def _expr(self, t: Any, value: str, names: dict[str, Any]) -> str:
        """Python source unstructuring the field ``value`` of declared type ``t``."""
        slow = self._conv.get_unstructure_hook(t)
        if slow is identity:
            return value
        inner = _optional_of(t)
        if inner is not None and getattr(slow, "__name__", "") == "unstructure_optional":
            return f"(None if {value} is None else {self._expr(inner, value, names)})"
        if getattr(slow, "__func__", None) is self._union:
            return f"_rt({value})"
        if getattr(slow, "__qualname__", "") == _TUPLE_HOOK:
            return f"[_rt(e) for e in {value}]"
        name = f"_h{len(names)}"
        names[name] = self.hook(t) if isinstance(t, type) and get_origin(t) is None else slow
        return f"{name}({value})"

    # -- text -----------------------------------------------------------------------------

    def _text(self, cls: type) -> Callable[[Any], str]:
        with self._lock:
            hook = self.hook(cls)
            text = None
            if attrs.has(cls) and getattr(hook, "__qualname__", "") == "encode":
                text = self._compile_text(cls)
            if text is None:
                text = lambda value: _encode(hook(value))  # noqa: E731
            if _cacheable(cls):
                fill = _filler(text)
                text = lambda value: value._wire_text or fill(value)  # noqa: E731
            self._texts[cls] = text
            return text

    def _cached_field(self, cls: type, value: str, names: dict[str, Any]) -> str:
        """Source of the text of ``value``, a :func:`_cacheable` ``cls`` (its cache, or
        its encoding, which fills the cache)."""
        fill = f"_f{len(names)}"
        names[fill] = self._text(cls)  # its template (or dict) text, kept once written
        return f"({value}._wire_text or {fill}({value}))"

    def _compile_text(self, cls: type) -> Callable[[Any], str] | None:
        """One ``%`` template writing ``cls``'s JSON text field by field (kept texts
        spliced, simple values written inline, the rest by the JSON encoder); ``None``
        for a tagged class."""
        if getattr(self._conv.get_unstructure_hook(cls), "__qualname__", "") == _TAGGED_HOOK:
            return None
        hints = get_type_hints(cls)
        names: dict[str, Any] = {"_rt": self.unstructure, "_enc": _encode}
        names.update(_q=encode_basestring, _dt=self.datetime, _UTC=UTC, _tx=self.to_json)
        names.update(_ir=int.__repr__, _fr=float.__repr__, _FMAX=sys.float_info.max)
        slots, values = [], []
        for field in (f for f in attrs.fields(cls) if f.init):
            t, value = hints[field.name], f"o.{field.name}"
            if t is datetime and self._conv.get_unstructure_hook(t) is self._datetime_hook:
                slots.append(f'{ENCODER.encode(field.name)}:"%s"')  # the quotes in the template
                values.append(f"({value}.isoformat() if {value}.tzinfo is _UTC else _dt({value}))")
                continue
            slots.append(f"{ENCODER.encode(field.name)}:%s")
            values.append(self._text_expr(t, value, names))
        template = "{" + ",".join(slots) + "}"  # field names hold no "%"
        return _define(cls, f"return {template!r} % ({', '.join(values)},)", names)

    def _text_expr(self, t: Any, value: str, names: dict[str, Any]) -> str:
        """Python source writing the field ``value`` of declared type ``t`` as JSON text:
        ``ENCODER.encode`` of what :meth:`_expr` gives, inlined where that is simple."""
        slow = self._conv.get_unstructure_hook(t)
        inner = _optional_of(t)
        if inner is not None and getattr(slow, "__name__", "") == "unstructure_optional":
            return f"('null' if {value} is None else {self._text_expr(inner, value, names)})"
        if _cacheable(t):
            return self._cached_field(t, value, names)
        if slow is identity:
            return _identity_text(t, value)
        if t is datetime and slow is self._datetime_hook:
            return str(_simple_text(t, value))
        if isinstance(t, type) and issubclass(t, Enum) and slow is self._enum_hook:
            return _simple_text(t, value) or f"_enc({value}._value_)"
        return self._nested_text(t, slow, value, names)

    def _nested_text(self, t: Any, slow: Hook, value: str, names: dict[str, Any]) -> str:
        """:meth:`_text_expr` for tuples (items by their own class's text, kept texts
        spliced) and untagged records (their text when the class is exactly ``t``)."""
        kind = getattr(slow, "__qualname__", "")
        if kind == _TUPLE_HOOK:
            args = get_args(t)
            item = "_tx(e)"
            if len(args) == 2 and args[1] is Ellipsis and _cacheable(args[0]):
                item = "(e._wire_text or _tx(e))"  # a kept text, else encoded and kept
            names["_E"] = ()  # the empty tuple (CPython has one): no list, no join
            return f"('[]' if {value} is _E else '[' + ','.join([{item} for e in {value}]) + ']')"
        slow_text = f"_enc({self._expr(t, value, names)})"
        if isinstance(t, type) and attrs.has(t) and kind != _TAGGED_HOOK:
            exact = f"_c{len(names)}"
            names[exact] = t
            return f"(_tx({value}) if {value}.__class__ is {exact} else {slow_text})"
        return slow_text


def _identity_text(t: Any, value: str) -> str:
    """Source writing ``value`` (a field the converter leaves as it is) as JSON text."""
    if t is str:
        return f"_q({value})"  # not a str: TypeError, and the caller redoes it all
    if t is int:
        return f"(_ir({value}) if {value}.__class__ is int else _enc({value}))"
    if t is float:  # a finite float as json writes it (its repr); NaN, ±inf, others: _enc
        exact = f"{value}.__class__ is float and -_FMAX <= {value} <= _FMAX"
        return f"(_fr({value}) if {exact} else _enc({value}))"
    if t is bool:
        return f"('true' if {value} is True else 'false' if {value} is False else _enc({value}))"
    return f"_enc({value})"


def _simple_text(t: Any, value: str) -> str | None:
    """Source writing ``value`` of type ``t`` as JSON text, for strings, datetimes and
    string enums; ``None`` for any other type."""
    if t is str:
        return f"_q({value})"
    if t is datetime:  # ISO 8601 text never needs escaping
        return f"('\"' + ({value}.isoformat() if {value}.tzinfo is _UTC else _dt({value})) + '\"')"
    if isinstance(t, type) and issubclass(t, Enum) and all(isinstance(m.value, str) for m in t):
        return f"_q({value}._value_)"
    return None


def _enum_value(value: Enum) -> Any:
    return value._value_


def _cacheable(t: Any) -> bool:
    """``t`` is a frozen class whose instances keep their own wire text once encoded (an
    ``init=False`` ``_wire_text`` slot: ``JobSpec``, ``Transition``). Such a value is
    encoded once however often the objects holding it are saved."""
    return (
        isinstance(t, type)
        and attrs.has(t)
        and any(f.name == "_wire_text" and not f.init for f in attrs.fields(t))
    )


def _filler(text: Callable[[Any], str]) -> Callable[[Any], str]:
    """``text`` that also keeps its result in the value's ``_wire_text`` slot (frozen:
    set as attrs sets fields). Two threads may both fill it, with the same text."""

    def fill(value: Any) -> str:
        out = text(value)
        _SET(value, "_wire_text", out)
        return out

    return fill


_SET = object.__setattr__


def _define(cls: type, body: str, names: dict[str, Any], arg: str = "o") -> Callable[[Any], Any]:
    """Compile ``def encode(<arg>): <body>`` in ``names``."""
    source = f"def encode({arg}):\n    {body}\n"
    exec(compile(source, f"<wire encoder {cls.__qualname__}>", "exec"), names)
    encode: Callable[[Any], Any] = names["encode"]
    return encode
