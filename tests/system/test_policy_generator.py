"""The spellings the policy's property tests generate really run the program they name.

tests/unit/test_policy_normaliser.py says "every spelling of a denied command is denied";
that is only worth something if the generated lines do run that command. Here the
runnable subset of :func:`unit.shell_strategies.spelled` is run by the real ``dash`` and
``bash`` with a stub program on ``PATH`` that records its arguments. The same goes for the
lines tests/unit/test_shell_policy.py says hide an ``rm`` from a sloppy reader.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.shell_strategies import HIDING_LINES, Spelled, spelled

pytestmark = pytest.mark.slow

STUB_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / f"gnomon-policy-stub-{os.getpid()}"


def run_line(shell: str, case: Spelled) -> list[str] | None:
    """Run ``case.command`` with ``shell``; the arguments the program got (None: not run)."""
    out = STUB_DIR / "argv"
    out.unlink(missing_ok=True)
    stub = STUB_DIR / case.program
    stub.write_text(f"#!/bin/sh\n: > {out}\nfor a do printf '%s\\0' \"$a\" >> {out}; done\n")
    stub.chmod(0o755)
    env = {"PATH": f"{STUB_DIR}:/usr/bin:/bin", "HOME": str(STUB_DIR)}
    subprocess.run(
        [shell, "-c", case.command],
        cwd=STUB_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return out.read_text().split("\0")[:-1] if out.exists() else None


@pytest.fixture(scope="module", autouse=True)
def stub_dir() -> object:
    STUB_DIR.mkdir(parents=True, exist_ok=True)
    yield STUB_DIR
    shutil.rmtree(STUB_DIR, ignore_errors=True)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_spellings_run_the_program_with_its_arguments(data: st.DataObject) -> None:
    """dash (and bash) run the drawn program with exactly the drawn arguments."""
    paths = ("", "./", ".//", f"{STUB_DIR}/", f"{STUB_DIR}//")
    case = data.draw(spelled(runnable=True, dash_safe=True, program_paths=paths))
    for shell in ("/bin/bash",) if case.ansi else ("/bin/dash", "/bin/bash"):
        assert run_line(shell, case) == [*case.args, *case.extra], (shell, case.command)


@pytest.mark.parametrize("line", HIDING_LINES)
def test_hiding_lines_run_rm_in_bash_or_dash(line: str) -> None:
    """Each line that hides ``rm -rf X`` from a sloppy reader does run it in a real shell."""
    case = Spelled(line, "rm", ("-rf", "X"))
    ran = {shell: run_line(shell, case) for shell in ("/bin/dash", "/bin/bash")}
    assert ["-rf", "X"] in ran.values(), ran
