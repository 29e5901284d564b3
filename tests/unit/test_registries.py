"""Actions and conditions are registered once (docs/architecture.md, "Actions and
conditions"): one module per type on each side, named after its tag, every hook present,
and the model-side and actor-side registries listing the same types."""

from __future__ import annotations

import importlib
import keyword
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from gnomon.actors.actions import EXECUTORS
from gnomon.actors.conditions import EVALUATORS
from gnomon.runtime.model.actions import ACTION_KINDS, Action
from gnomon.runtime.model.conditions import CONDITION_KINDS, Condition
from gnomon.runtime.model.kinds import Kind

ROOT = Path(__file__).resolve().parents[2]

#: family → (model kinds, the union, actor registry, the actor hook's name)
FAMILIES: dict[str, tuple[tuple[Kind[Any], ...], Any, dict[str, Any], str]] = {
    "actions": (ACTION_KINDS, Action, EXECUTORS, "executor"),
    "conditions": (CONDITION_KINDS, Condition, EVALUATORS, "evaluator"),
}

#: The files a new action type touches — what docs/development.md, "Adding an action
#: type", walks through (checked below).
NEW_ACTION_FILES = (
    "runtime/model/actions/<tag>.py",
    "runtime/model/actions/__init__.py",
    "actors/actions/<tag>.py",
    "actors/actions/__init__.py",
)


def module_name(tag: str) -> str:
    """A type's module: its tag, with ``_`` appended when the tag is a Python keyword."""
    return f"{tag}_" if keyword.iskeyword(tag) else tag


def type_modules(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}


@pytest.mark.parametrize("family", FAMILIES)
def test_both_registries_list_the_same_types(family: str) -> None:
    """The actor side has a hook for every model-side type and for nothing else."""
    kinds, _, hooks, _ = FAMILIES[family]
    tags = [k.tag for k in kinds]
    assert len(set(tags)) == len(tags)
    assert set(hooks) == set(tags)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_union_holds_exactly_the_registered_types(family: str) -> None:
    """``Action``/``Condition`` (what the wire and mypy see) match the registry."""
    kinds, union, _, _ = FAMILIES[family]
    assert set(typing.get_args(union)) == {k.cls for k in kinds}


@pytest.mark.parametrize("family", FAMILIES)
def test_one_module_per_type_on_the_model_side(family: str) -> None:
    """Each type's class and kind live in runtime/model/<family>/<tag>.py, and every
    module there is a registered type."""
    kinds, _, _, _ = FAMILIES[family]
    names = {module_name(k.tag) for k in kinds}
    assert type_modules(ROOT / "runtime" / "model" / family) == names
    for kind in kinds:
        module = importlib.import_module(f"gnomon.runtime.model.{family}.{module_name(kind.tag)}")
        assert kind.cls.__module__ == module.__name__
        assert module.KIND is kind


@pytest.mark.parametrize("family", FAMILIES)
def test_one_module_per_type_on_the_actor_side(family: str) -> None:
    """Each type's executor or evaluator hook is actors/<family>/<tag>.py's, and every
    module there is a registered type."""
    kinds, _, hooks, hook_name = FAMILIES[family]
    names = {module_name(k.tag) for k in kinds}
    assert type_modules(ROOT / "actors" / family) == names
    for kind in kinds:
        module = importlib.import_module(f"gnomon.actors.{family}.{module_name(kind.tag)}")
        assert hooks[kind.tag] is getattr(module, hook_name)


@pytest.mark.parametrize("kind", [*ACTION_KINDS, *CONDITION_KINDS], ids=lambda k: k.tag)
def test_every_kind_has_its_hooks(kind: Kind[Any]) -> None:
    """A leaf is reachable from the DSL (a prefix or a match); a composite can be rebuilt
    and walked; every type can be formatted, keyed and shown in errors."""
    assert kind.forms
    assert callable(kind.format)
    assert callable(kind.breaker_key)
    if kind.rebuild is None:
        assert kind.prefixes or kind.match is not None
    else:
        assert kind.children is not Kind.__attrs_attrs__.children.default  # type: ignore[attr-defined]
    for field in kind.secret_fields:
        assert field in {a.name for a in kind.cls.__attrs_attrs__}  # type: ignore[attr-defined]


def test_the_walk_through_names_the_files_the_registry_test_checks() -> None:
    """docs/development.md's "Adding an action type" touches exactly these files."""
    text = (ROOT / "docs" / "development.md").read_text()
    section = text.split("## Adding an action type", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:runtime|actors)/[\w/<>]+\.py)`", section))
    assert named == set(NEW_ACTION_FILES)
