"""Size limits of docs/development.md (House style), measured on the source tree's syntax:
no module over 400 lines, no class over 300, no function over 60 (a class or function
counts from its ``class``/``def`` line to its last line, docstring included)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("actors", "runtime", "cli", "client")
LIMITS = {"module": 400, "class": 300, "function": 60}

#: The offenders that remain, with their sizes. The list only shrinks: an entry fails once
#: its item is back under the limit (delete the entry) and whenever its size changes
#: (grown: shrink it again; shrunk but still over: write the new size here). Never add an
#: entry. Empty since issue 20 split the engine and its tree.
ALLOWED: dict[tuple[str, str, str], int] = {}

Item = tuple[str, str, str]


def _defs(node: ast.AST, prefix: str) -> Iterator[tuple[str, str, int]]:
    """(kind, qualified name, lines) of every class and function under ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            kind = "class" if isinstance(child, ast.ClassDef) else "function"
            assert child.end_lineno is not None
            yield kind, name, child.end_lineno - child.lineno + 1
            yield from _defs(child, f"{name}.")
        else:
            yield from _defs(child, prefix)


def measure() -> dict[Item, int]:
    """The size of every module, class and function of the four source folders."""
    sizes: dict[Item, int] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            text = path.read_text()
            sizes[(rel, "module", "")] = len(text.splitlines())
            for kind, name, lines in _defs(ast.parse(text, rel), ""):
                key = (rel, kind, name)  # a name defined twice: the larger counts
                sizes[key] = max(lines, sizes.get(key, 0))
    return sizes


SIZES = measure()


def _show(item: Item) -> str:
    path, kind, name = item
    return f"{path} {kind} {name}".rstrip()


def test_nothing_exceeds_the_limits() -> None:
    """Every module, class and function is within its limit, or on the shrinking list."""
    over = sorted(
        f"{_show(item)}: {size} lines (limit {LIMITS[item[1]]})"
        for item, size in SIZES.items()
        if size > LIMITS[item[1]] and item not in ALLOWED
    )
    assert not over, "split these (docs/development.md, House style):\n" + "\n".join(over)


def test_the_list_of_remaining_offenders_only_shrinks() -> None:
    """Each listed offender still exists, is still over its limit and has its listed size."""
    stale = []
    for item, listed in ALLOWED.items():
        size, limit = SIZES.get(item), LIMITS[item[1]]
        if size is None:
            stale.append(f"{_show(item)}: gone — delete its entry")
        elif size <= limit:
            stale.append(f"{_show(item)}: {size} lines, within {limit} — delete its entry")
        elif size > listed:
            stale.append(f"{_show(item)}: grew from {listed} to {size} lines — shrink it")
        elif size < listed:
            stale.append(f"{_show(item)}: shrank from {listed} to {size} — write {size}")
    assert not stale, "\n".join(stale)


def test_the_measure_sees_nested_definitions() -> None:
    """Guard against a vacuous measure: methods are measured under their class's name."""
    assert SIZES[("runtime/supervisor.py", "class", "Supervisor")] > 100
    assert ("runtime/supervisor.py", "function", "Supervisor.run") in SIZES
    assert SIZES[("runtime/protocol.py", "module", "")] > 100
