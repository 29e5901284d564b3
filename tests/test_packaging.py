"""The wheel holds exactly the `gnomon` namespace, with every source and data file."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "actors": "gnomon/actors",
    "runtime": "gnomon/runtime",
    "cli": "gnomon/cli",
    "client": "gnomon/client",
}
DATA_SUFFIXES = {".py", ".typed", ".sql", ".html", ".js", ".css", ".svg", ".json"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the project's wheel once for this module (no network: no isolation)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("gnomon-*.whl")
    return found


def expected_files() -> set[str]:
    files = set()
    for folder, target in FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in DATA_SUFFIXES and "__pycache__" not in path.parts:
                files.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    return files


def test_only_gnomon_at_top_level(wheel: Path) -> None:
    """Nothing but `gnomon/` and its dist-info is installed into site-packages."""
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"gnomon"}


def test_every_source_and_data_file_is_in_the_wheel(wheel: Path) -> None:
    """setuptools silently drops unlisted subpackages; this catches it."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(expected_files() - names)
    assert not missing, f"not in the wheel (list the package in pyproject.toml): {missing}"


def test_wheel_install_runs_version(wheel: Path, tmp_path: Path) -> None:
    """`gnomon --version` and `python -m gnomon.cli --version` work from the installed wheel."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    for argv in (
        [sys.executable, "-m", "gnomon.cli", "--version"],
        [sys.executable, str(target / "bin" / "gnomon"), "--version"],
    ):
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "gnomon, version 0.1.0"
        assert (
            str(target)
            in subprocess.run(
                [sys.executable, "-c", "import gnomon.cli; print(gnomon.cli.__file__)"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """`.ci/run` runs the README's test command verbatim, so the README stays true."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run the tests", 1)[1]
    command = section.split("```sh\n", 1)[1].split("\n```", 1)[0].strip()
    assert command.splitlines() == [command], "the README's test command is one line"
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines
