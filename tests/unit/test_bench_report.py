"""``python -m bench``'s report (bench/report.py) never overwrites measurements written by
hand into the suite's part of docs/performance.md: it writes its fallback file instead."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rep(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is not installed, it sits beside tests/
    module = importlib.import_module("bench.report")

    def render(data: Any, plots: list[str]) -> list[str]:
        return [module.HEADING, "", "### W1: fire storm", f"{data['fires']} fires/s"]

    monkeypatch.setattr(module, "render", render)
    return module


def page(rep: ModuleType, *extra: str) -> str:
    return "\n".join(
        ["# Performance", "## Store", "kept", rep.HEADING, "### W1: fire storm", *extra]
    )


def test_a_generated_part_is_rewritten_and_what_precedes_it_kept(
    rep: ModuleType, tmp_path: Path
) -> None:
    doc, fallback = tmp_path / "performance.md", tmp_path / "suite.md"
    doc.write_text(page(rep, "1 fires/s"))
    assert rep.write(doc, {"fires": 2}, [], fallback=fallback) == []
    text = doc.read_text()
    assert text.startswith("# Performance\n## Store\nkept\n\n" + rep.HEADING)
    assert "2 fires/s" in text
    assert "1 fires/s" not in text
    assert not fallback.exists()


def test_hand_written_sections_are_never_overwritten(rep: ModuleType, tmp_path: Path) -> None:
    doc, fallback = tmp_path / "performance.md", tmp_path / "suite.md"
    before = page(rep, "1 fires/s", "### W1 with batch firing (issue 18)", "measured by hand")
    doc.write_text(before)
    kept = rep.write(doc, {"fires": 2}, [], fallback=fallback)
    assert kept == ["### W1 with batch firing (issue 18)"]
    assert doc.read_text() == before
    assert "2 fires/s" in fallback.read_text()
