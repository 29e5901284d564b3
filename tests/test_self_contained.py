"""The repository explains itself: code and docs cite files in docs/ that exist, never a
design document kept outside the repository (docs/development.md, House style)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(
    r"CONTRACT §|ARCHITECTURE\s+§|(?<![\w/])(?:CONTRACT|ARCHITECTURE|CLUSTER)\.md"
    r"|chatcli-scheduler|\.\./shared/|\breference §?\d+\.\d"
)
DOCS_CITE = re.compile(r"\bdocs/([\w-]+\.(?:md|json))")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.js", "*.html", "*.sql", "*.toml", "*.css"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    """No tracked file cites CONTRACT/ARCHITECTURE sections or the predecessor's reference."""
    this = Path(__file__).resolve()
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _tracked_text_files()
        if path != this
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert hits == []


def test_every_cited_docs_file_exists() -> None:
    """Each docs page a file cites is in docs/ (a renamed page breaks no citation)."""
    missing = sorted(
        {
            f"{path.relative_to(ROOT)} → docs/{name}"
            for path in _tracked_text_files()
            for name in DOCS_CITE.findall(path.read_text(encoding="utf-8"))
            if not (ROOT / "docs" / name).exists()
        }
    )
    assert missing == []
