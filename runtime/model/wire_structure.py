"""Compiled structure functions behind :func:`gnomon.runtime.model.wire.structure` for the
job spec and the job state (``job.create``, ``job.create_many`` and the store's reads).

cattrs' generated functions call a hook per field through the converter, and the strict
hooks of :mod:`.wire_hooks` wrap each value in checks and closures: a ``JobSpec`` takes
~110 µs. The functions here are generated from the same type hints and check the same
shapes inline (``v.__class__ is str``, a dict of enum values, one key-set test for
unknown keys), so a valid value costs a fraction of that.

They are a *fast path* only, never a second set of rules: whenever a value is not exactly
one they build without doubt (a missing key, an integral float for an int, a subclass, a
type they do not inline), they give up and the converter's own hook — captured before
these were registered — structures the whole value again. So every result and every
error is the converter's; ``tests/unit/test_wire_structure.py`` checks the equality over
random values, valid and broken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import Enum
from typing import Any, get_args, get_type_hints

import attrs
from cattrs import Converter

from gnomon.runtime.model.wire_hooks import TAG_KEY, is_tagged_class, tagged_members

Hook = Callable[[Any, Any], Any]
_HOOKS_MODULE = "gnomon.runtime.model.wire_hooks"
_SCALARS = {"_structure_str": str, "_structure_bool": bool, "_structure_int": int}


class _Mismatch(Exception):
    """The fast path cannot build this value; the converter's hook decides."""


def _aware(value: Any) -> datetime:
    """``_structure_datetime`` for valid values (anything else: a mismatch)."""
    if value.__class__ is not str:
        raise _Mismatch
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise _Mismatch
    return parsed


def _kind(hook: Any) -> str:
    """The name of a :mod:`.wire_hooks` hook (``""`` for any other hook)."""
    if getattr(hook, "__module__", "") != _HOOKS_MODULE:
        return ""
    return str(getattr(hook, "__qualname__", "")).split(".<locals>")[0]


def _is_attrs(t: Any) -> bool:
    return isinstance(t, type) and attrs.has(t)


def reachable(roots: Iterable[type]) -> list[type]:
    """The attrs classes of ``roots`` and of every field type inside them, roots first."""
    found: list[type] = []
    todo: list[Any] = list(roots)
    while todo:
        t = todo.pop(0)
        if _is_attrs(t):
            if t in found:
                continue
            found.append(t)
            todo.extend(get_type_hints(t).values())
        else:
            todo.extend(a for a in get_args(t) if a is not Ellipsis)
    return found


class Structurers:
    """Compiled equivalents of ``converter``'s structure hooks (see the module docstring)."""

    def __init__(self, converter: Converter, *, roots: tuple[type, ...] = ()) -> None:
        self._conv = converter
        self._roots = roots
        self._lock = threading.Lock()  # the store's thread and the trio thread structure
        self.ready = False
        self._ns: dict[str, Any] = {"_M": _Mismatch, "_aware": _aware}
        self._names: dict[Any, str] = {}  # attrs class or element type → its function's name
        self._tables: list[tuple[dict[str, Any], dict[str, type]]] = []  # tagged unions
        self.slow: dict[type, Hook] = {}

    def install(self, *roots: type) -> None:
        """Compile a function for every attrs class of ``roots`` (and of the roots given at
        construction), recursively, and register it, guarded by the converter's own hook,
        as that class's structure hook; then :attr:`ready` is true."""
        with self._lock:
            self._install(reachable((*self._roots, *roots)))
            self.ready = True

    def _install(self, found: list[type]) -> None:
        classes = [c for c in found if c not in self.slow]
        for cls in classes:  # every slow hook first: they must not call a fast one
            self.slow[cls] = self._conv.get_structure_hook(cls)
        for cls in classes:
            self._names[cls] = self._name("_c")
        for cls in classes:
            self._define(self._names[cls], self._class_lines(cls))
        for table, members in self._tables:
            table.update({tag: self._fn(cls) for tag, cls in members.items()})
        for cls in classes:
            self._conv.register_structure_hook(cls, self._hook(cls))

    def fast(self, cls: type) -> Callable[[Any], Any]:
        """The compiled function of ``cls`` alone (raises on anything it does not build)."""
        if not self.ready:
            self.install()
        return self._fn(cls)

    def _fn(self, cls: type) -> Callable[[Any], Any]:
        fn: Callable[[Any], Any] = self._ns[self._names[cls]]
        return fn

    def _hook(self, cls: type) -> Hook:
        """``cls``'s fast function, falling back to the converter's hook on any failure."""
        fast, slow = self._fn(cls), self.slow[cls]

        def structure(value: Any, _: Any) -> Any:
            try:
                return fast(value)
            except Exception:
                return slow(value, cls)

        return structure

    # -- code generation ------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        return f"{prefix}{len(self._ns)}_{len(self._names)}"

    def _bind(self, value: Any, prefix: str = "_k") -> str:
        name = self._name(prefix)
        while name in self._ns:
            name += "_"
        self._ns[name] = value
        return name

    def _define(self, name: str, body: list[str]) -> None:
        source = f"def {name}(o):\n" + "".join(f"    {line}\n" for line in body)
        exec(compile(source, f"<wire structure {name}>", "exec"), self._ns)

    def _class_lines(self, cls: type) -> list[str]:
        """The body of ``cls``'s function: shape checks, then one block per field."""
        hints = get_type_hints(cls)
        fields = [f for f in attrs.fields(cls) if f.init]
        tag = getattr(cls, "TAG", None) if is_tagged_class(cls) else None
        keys = frozenset(f.name for f in fields) | ({TAG_KEY} if tag is not None else set())
        lines = [f"if o.__class__ is not dict or not {self._bind(keys)}.issuperset(o): raise _M"]
        if tag is not None:
            lines.append(f"if {TAG_KEY!r} in o and o[{TAG_KEY!r}] != {tag!r}: raise _M")
        lines.append("kw = {}")
        for f in fields:
            block = self._emit(hints[f.name], f"o[{f.name!r}]", f"kw[{f.alias!r}]")
            if f.default is attrs.NOTHING:
                lines += block
            else:
                lines += [f"if {f.name!r} in o:", *(f"    {line}" for line in block)]
        lines.append(f"return {self._bind(cls, '_cls')}(**kw)")
        return lines

    def _emit(self, t: Any, src: str, dst: str) -> list[str]:
        """Statements setting ``dst`` to ``src`` structured as ``t`` (``v`` is scratch)."""
        slow = self._conv.get_structure_hook(t)
        kind = _kind(slow)
        check = self._check(t, kind)
        if check is not None:
            return [f"v = {src}", *check, f"{dst} = v"]
        if kind == "_optional_hook":
            inner = next(a for a in get_args(t) if a is not type(None))
            body = self._emit(inner, "v", dst)
            return [
                f"v = {src}",
                f"if v is None: {dst} = None",
                "else:",
                *(f"    {b}" for b in body),
            ]
        return [f"{dst} = {self._value_fn(t, slow, kind)}({src})"]

    def _check(self, t: Any, kind: str) -> list[str] | None:
        """In-place checks of ``v`` for scalars (``None`` for other types)."""
        if kind in _SCALARS and t is _SCALARS[kind]:
            if t is bool:
                return ["if v is not True and v is not False: raise _M"]
            return [f"if v.__class__ is not {t.__name__}: raise _M"]
        if kind == "_structure_float" and t is float:
            return [
                "if v.__class__ is int: v = float(v)",
                "elif v.__class__ is not float or v - v != 0.0: raise _M",
            ]
        if kind == "_structure_any":
            return []
        if kind == "_literal_hook" and all(isinstance(a, str) for a in get_args(t)):
            allowed = self._bind(frozenset(get_args(t)))
            return [f"if v.__class__ is not str or v not in {allowed}: raise _M"]
        return None

    def _value_fn(self, t: Any, slow: Hook, kind: str) -> str:
        """The name of a function structuring one value of ``t``."""
        if t in self._names:
            return self._names[t]
        if kind == "_structure_datetime" and t is datetime:
            return "_aware"
        if kind == "_structure_enum" and isinstance(t, type) and issubclass(t, Enum):
            return self._bind(dict(t._value2member_map_).__getitem__, "_e")
        name = self._name("_f")
        self._names[t] = name
        self._define(name, self._value_lines(t, slow, kind))
        return name

    def _value_lines(self, t: Any, slow: Hook, kind: str) -> list[str]:
        if kind == "_tagged_union_hook":
            table: dict[str, Any] = {}  # filled by install() once every class is defined
            self._tables.append((table, {m.TAG: m for m in tagged_members(t)}))  # type: ignore[attr-defined]
            head = ["if o is None: return None"] if type(None) in get_args(t) else []
            return [*head, f"return {self._bind(table, '_u')}[o[{TAG_KEY!r}]](o)"]
        if kind == "_tuple_hook":
            return self._tuple_lines(t)
        if kind == "_dict_hook":
            return self._dict_lines(t)
        return [f"return {self._bind(slow, '_s')}(o, {self._bind(t, '_t')})"]

    def _tuple_lines(self, t: Any) -> list[str]:
        args = get_args(t)
        lines = ["if o.__class__ is not list and o.__class__ is not tuple: raise _M"]
        if len(args) == 2 and args[1] is Ellipsis:
            elem = self._elem_fn(args[0])
            return [*lines, f"return tuple([{elem}(e) for e in o])"]
        if not args:
            return [*lines, "return tuple(o)"]
        lines.append(f"if len(o) != {len(args)}: raise _M")
        items = ", ".join(f"{self._elem_fn(a)}(o[{i}])" for i, a in enumerate(args))
        return [*lines, f"return ({items},)"]

    def _dict_lines(self, t: Any) -> list[str]:
        args = get_args(t)
        lines = ["if o.__class__ is not dict: raise _M"]
        if len(args) != 2 or args[1] is Any:
            return [*lines, "return dict(o)"]
        return [*lines, f"return {{k: {self._elem_fn(args[1])}(x) for k, x in o.items()}}"]

    def _elem_fn(self, t: Any) -> str:
        """A function of one element of type ``t`` (a checker for scalars)."""
        slow = self._conv.get_structure_hook(t)
        kind = _kind(slow)
        check = self._check(t, kind)
        if check is None:
            if kind == "_optional_hook":
                name = self._name("_o")
                self._names[t] = name
                self._define(name, [*self._emit(t, "o", "r"), "return r"])
                return name
            return self._value_fn(t, slow, kind)
        if t in self._names:
            return self._names[t]
        name = self._name("_v")
        self._names[t] = name
        self._define(name, ["v = o", *check, "return v"])
        return name
