"""The dependency rule of docs/architecture.md, checked on the source tree's imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "actors": "gnomon.actors",
    "runtime": "gnomon.runtime",
    "cli": "gnomon.cli",
    "client": "gnomon.client",
}

#: The protocol: the method table, its types one module per family, the method names.
PROTOCOL = (
    "gnomon.runtime.protocol",
    "gnomon.runtime.protocol_access",
    "gnomon.runtime.protocol_bulk",
    "gnomon.runtime.protocol_events",
    "gnomon.runtime.protocol_inbox",
    "gnomon.runtime.protocol_jobs",
    "gnomon.runtime.protocol_names",
    "gnomon.runtime.protocol_paging",
    "gnomon.runtime.protocol_policy",
    "gnomon.runtime.protocol_schedules",
    "gnomon.runtime.protocol_stats",
    "gnomon.runtime.protocol_system",
)
#: The parts of gnomon.runtime the CLI may import (its public client-side API).
CLI_MAY_IMPORT = (
    "gnomon.runtime.errors",
    "gnomon.runtime.model",
    "gnomon.runtime.config",
    "gnomon.runtime.home",
    *PROTOCOL,
    "gnomon.runtime.daemon",  # `gnomon daemon start` runs the daemon in the foreground
    "gnomon.runtime.daemonctl",  # process control: start detached, stop, port holders
)
#: The parts of gnomon.runtime the public client may import (no daemon, no process control).
CLIENT_MAY_IMPORT = (
    "gnomon.runtime.errors",
    "gnomon.runtime.model",
    "gnomon.runtime.home",
    *PROTOCOL,
)
#: Packages whose modules are pure decision code: no trio, no I/O, not even indirectly.
PURE_PACKAGES = ("gnomon.runtime.model", "gnomon.actors.core")
IMPURE = ("trio", "trio_websocket", "httpx", "sqlite3", "subprocess", "socket", "asyncio")


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def executed_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (never run)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if is_type_checking_block(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def imports_of(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in executed_nodes(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names)
    return out


def is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


ALL = modules()
IMPORTS = {name: imports_of(name, path) for name, path in ALL.items()}


def test_no_bare_folder_imports() -> None:
    """`import runtime` works from the repo root but breaks once installed."""
    bad = {
        (name, imp)
        for name, imps in IMPORTS.items()
        for imp in imps
        if imp.split(".")[0] in FOLDERS
    }
    assert not bad


def test_cli_uses_only_the_public_runtime_api() -> None:
    """The CLI is a thin client: no actors, no store, no kernel internals."""
    bad = set()
    for name, imps in IMPORTS.items():
        if not is_under(name, "gnomon.cli"):
            continue
        for imp in imps:
            if is_under(imp, "gnomon.actors") or (
                is_under(imp, "gnomon.runtime")
                and imp != "gnomon.runtime"
                and not any(is_under(imp, allowed) for allowed in CLI_MAY_IMPORT)
            ):
                bad.add((name, imp))
    assert not bad


def test_the_client_uses_only_the_protocol_and_model() -> None:
    """gnomon.client (the public Python API) imports no actors, CLI, store or daemon."""
    bad = set()
    for name, imps in IMPORTS.items():
        if not is_under(name, "gnomon.client"):
            continue
        for imp in imps:
            if any(is_under(imp, p) for p in ("gnomon.actors", "gnomon.cli")) or (
                is_under(imp, "gnomon.runtime")
                and imp != "gnomon.runtime"
                and not any(is_under(imp, allowed) for allowed in CLIENT_MAY_IMPORT)
            ):
                bad.add((name, imp))
    assert not bad


def test_runtime_imports_actors_only_in_the_composition_root() -> None:
    """runtime is generic; only gnomon.runtime.daemon wires the domain actors in."""
    bad = {
        (name, imp)
        for name, imps in IMPORTS.items()
        if is_under(name, "gnomon.runtime") and not is_under(name, "gnomon.runtime.daemon")
        for imp in imps
        if is_under(imp, "gnomon.actors")
    }
    assert not bad


def ancestors(name: str) -> list[str]:
    """``a.b.c`` → ``a.b.c``, ``a.b``, ``a``: Python runs every parent package's __init__."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def gnomon_closure(start: str) -> set[str]:
    """Every gnomon module that importing ``start`` executes."""
    seen, todo = set(), [c for c in ancestors(start) if c in ALL]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imp in IMPORTS.get(name, ()):
            todo.extend(c for c in ancestors(imp) if c in ALL)
    return seen


def test_pure_modules_never_import_trio_or_io() -> None:
    """Decision cores stay pure, directly and through other gnomon modules."""
    bad = set()
    for name in ALL:
        if not any(is_under(name, p) for p in PURE_PACKAGES):
            continue
        for dep in gnomon_closure(name):
            for imp in IMPORTS[dep]:
                if imp.split(".")[0] in IMPURE:
                    bad.add((name, dep, imp))
    assert not bad


def test_the_protocol_list_names_every_protocol_module() -> None:
    """A new protocol family module is public to the CLI and the client only when listed."""
    found = {n for n in ALL if n.startswith("gnomon.runtime.protocol")}
    assert found == set(PROTOCOL)


def test_the_checker_sees_violations() -> None:
    """Guard against a vacuous rule: the closure finds trio in the kernel, and follows
    parent packages (importing gnomon.runtime.model.job runs gnomon/runtime/__init__)."""
    assert "trio" in IMPORTS["gnomon.runtime.actor"]
    assert "gnomon.runtime.actor" in gnomon_closure("gnomon.runtime.supervisor")
    assert "gnomon.runtime" in gnomon_closure("gnomon.runtime.model.job")


def test_pure_modules_really_load_without_trio() -> None:
    """Importing every pure module in a fresh interpreter leaves trio unimported."""
    pure = sorted(n for n in ALL if any(is_under(n, p) for p in PURE_PACKAGES))
    code = "; ".join(f"import {n}" for n in pure) + (
        "; import sys; bad = [m for m in ('trio', 'httpx', 'sqlite3') if m in sys.modules]"
        "; assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
