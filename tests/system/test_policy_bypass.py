"""Issue 17, item 8, reproduced against a real daemon: under ``policy deny 'rm -rf*'`` no
spelling of ``rm -rf`` runs, even with ``--i-know`` (docs/security.md, the shell policy).

Each command would delete a real directory if admitted: it is scheduled to fire at once
with ``--i-know`` through the real CLI, must be refused (exit 4, the rule named), is never
stored, and ``policy check`` (all of them in one ``gnomon shell`` run) rates it ``deny``
naming the rule. The directory survives.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon

pytestmark = pytest.mark.slow

#: ``X`` is the target directory; ``LIST`` a file naming it; ``SCRIPT`` a script removing it.
COMMANDS = [
    "\\rm -rf X", '"rm" -rf X', "r''m -rf X", "$'rm' -rf X", "nice -n 5 rm -rf X",
    "/usr/bin/env rm -rf X", "env -i FOO=1 rm -rf X", "timeout -s KILL 5 rm -rf X",
    "nohup rm -rf X", "command rm -rf X", "exec rm -rf X", "xargs rm -rf < LIST",
    "sudo -u root rm -rf X", "eval 'rm -rf X'", "sh -c 'rm -rf X'", 'bash -lc "rm -rf X"',
    "${RM:-rm} -rf X", "$(echo rm) -rf X", "`echo rm` -rf X",
    "curl -s file://SCRIPT | bash", "curl -s file://SCRIPT | sh",
]  # fmt: skip


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    home = tmp_path_factory.mktemp("policy") / "home"
    rates = {"GNOMON_LIMITS_OWNER_RPS": "1000", "GNOMON_LIMITS_OWNER_BURST": "1000"}
    running = RealDaemon.start(home, env=cli_env(home, **rates))  # 21+ creates in a row
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a file in it, a list naming it and a script removing it."""
    root = tmp_path_factory.mktemp("victim")
    victim = root / "precious"
    victim.mkdir()
    (victim / "keep.txt").write_text("still here\n")
    (root / "list").write_text(shlex.quote(str(victim)) + "\n")
    (root / "script.sh").write_text(f"rm -rf {shlex.quote(str(victim))}\n")
    return victim


def spell(command: str, victim: Path) -> str:
    root = victim.parent
    return (
        command.replace("LIST", shlex.quote(str(root / "list")))
        .replace("SCRIPT", str(root / "script.sh"))
        .replace("X", shlex.quote(str(victim)))
    )


def g(d: RealDaemon, *args: str, stdin: str | None = None) -> Result:
    if stdin is None:
        return gnomon(d.home, *args)
    proc = subprocess.run(
        [sys.executable, "-m", "gnomon.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(d.home),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_every_spelling_of_rm_rf_is_refused_and_nothing_is_deleted(
    daemon: RealDaemon, target: Path
) -> None:
    """Each bypass of issue 17 is refused at admission with --i-know (exit 4, rule named),
    stored nowhere, rated deny by policy check; the target directory survives."""
    assert g(daemon, "policy", "deny", "rm -rf*").code == 0
    lines = [spell(command, target) for command in COMMANDS]
    names = [f"bypass-{k}" for k in range(len(lines))]
    for name, line in zip(names, lines, strict=True):
        refused = g(daemon, "schedule", name, "--when", "now", "--do", f"shell: {line}", "--i-know")
        assert refused.code == 4, (line, refused.out, refused.err)
        assert "denied by policy" in refused.err, (line, refused.err)
        assert "deny rule 'rm -rf*'" in refused.err, (line, refused.err)
    checks = "".join(f"/policy check {shlex.quote(line)}\n" for line in lines)
    rated = g(daemon, "shell", stdin=checks)  # one CLI process, one slash command per line
    assert rated.code == 4
    verdicts = rated.out.splitlines()
    assert len(verdicts) == len(lines), rated.out
    for line, verdict in zip(lines, verdicts, strict=True):
        assert verdict.startswith("deny"), (line, verdict)
        assert "'rm -rf*'" in verdict, (line, verdict)
    stored = {job["name"] for job in g(daemon, "jobs", "history", "--json").json()}
    assert not stored & set(names)
    assert (target / "keep.txt").read_text() == "still here\n"
