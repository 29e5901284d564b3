"""The spellings the policy's property tests generate really run the program they name.

tests/unit/test_policy_normaliser.py says "every spelling of a denied command is denied";
that is only worth something if the generated lines do run that command. Here the
runnable subset of :func:`unit.shell_strategies.spelled` is run by the real ``dash`` and
``bash`` with a stub program on ``PATH`` that records its arguments. The same goes for the
lines tests/unit/test_shell_policy.py says hide an ``rm`` from a sloppy reader. And,
differentially: any line of shell junk around ``rm -rf X`` that really runs it in one of
the two shells must be denied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.shell_strategies import HIDING_LINES, _nest, spelled

from gnomon.actors.core.shell.rules import Decision, PolicyRules, classify

pytestmark = pytest.mark.slow

STUB_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / f"gnomon-policy-stub-{os.getpid()}"


def run_line(shell: str, command: str, program: str) -> list[list[str]]:
    """Run ``command`` with ``shell``; the argument lists of each run of ``program``."""
    out = STUB_DIR / "argv"
    out.unlink(missing_ok=True)
    stub = STUB_DIR / program
    stub.write_text(f"#!/bin/sh\nfor a do printf '%s\\0' \"$a\"; done >> {out}\necho >> {out}\n")
    stub.chmod(0o755)
    env = {"PATH": f"{STUB_DIR}:/usr/bin:/bin", "HOME": str(STUB_DIR)}
    subprocess.run(
        [shell, "-c", command],
        cwd=STUB_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    records = out.read_text().split("\n")[:-1] if out.exists() else []
    return [record.split("\0")[:-1] for record in records]


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
        runs = run_line(shell, case.command, case.program)
        assert runs == [[*case.args, *case.extra]], (shell, case.command)


def test_a_subshell_in_a_command_substitution_is_spelled_for_dash() -> None:
    """`$(` then `(` is written `$( (`: dash reads `$((` as arithmetic and runs nothing
    (a drawn spelling once did that)."""
    line = _nest("echo $({c}\n)", _nest("( {c}\n)", "a0"))
    assert run_line("/bin/dash", line, "a0") == [[]]


@pytest.mark.parametrize("line", HIDING_LINES)
def test_hiding_lines_run_rm_in_bash_or_dash(line: str) -> None:
    """Each line that hides ``rm -rf X`` from a sloppy reader does run it in a real shell."""
    ran = {shell: run_line(shell, line, "rm") for shell in ("/bin/dash", "/bin/bash")}
    assert any(["-rf", "X"] in runs for runs in ran.values()), ran


JUNK = [
    " ", " ", ";", "\n", "&", "&&", "|", "'", '"', "\\", "$'", '$"', "$(", ")", "(", "`", "<<",
    "<<-", "EOF", "'EOF'", "\nEOF\n", "EOF)", "\t", "#", "{", "}", "${x:-", "&>", "|&", ";&",
    "eval", "sh -c", "case x in x)", ";;", "esac", "((", "))", "$((", "<<<", "<(", "echo", "$x",
    "x=", "2>", "!", "time", "$'\\''", "\\\n", "f()", "for i in 1; do", "done", "if", "fi",
]  # fmt: skip
CORES = ["rm -rf X", "r''m -rf X", "\\rm -rf X", '"rm" -r""f X', "$'rm' -rf X", "rm \\-rf X"]


@settings(max_examples=300)
@given(
    before=st.lists(st.sampled_from(JUNK), max_size=6),
    core=st.sampled_from(CORES),
    after=st.lists(st.sampled_from(JUNK), max_size=6),
    glue=st.tuples(*[st.sampled_from([";", "\n", "&&", "|", "&", " ", ""])] * 2),
)
def test_whatever_runs_rm_rf_in_dash_or_bash_is_denied(
    before: list[str], core: str, after: list[str], glue: tuple[str, str]
) -> None:
    """Differential: a line of shell junk around ``rm -rf X`` that really runs it in dash
    or bash is denied by ``deny 'rm -rf*'`` (lines that do not run it may be anything)."""
    line = "".join(before) + glue[0] + core + glue[1] + "".join(after)
    if classify(line, PolicyRules(deny=("rm -rf*",))).decision is Decision.DENY:
        return
    for shell in ("/bin/dash", "/bin/bash"):
        assert ["-rf", "X"] not in run_line(shell, line, "rm"), (shell, line)
