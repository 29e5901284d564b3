"""``gnomon shell`` in a real terminal (a pty read through a terminal emulator) against a
real daemon: Tab completion, the live badge, event notices above the prompt, errors that
leave the REPL alive, and leaving it with /exit or Ctrl-D."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon, cli_env
from support.pty_term import Terminal

pytestmark = pytest.mark.slow

PROMPT = "gnomon›"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    running = RealDaemon.start(tmp_path_factory.mktemp("shell") / "home")
    yield running
    assert running.stop() == 0


@pytest.fixture
def term(daemon: RealDaemon) -> Iterator[Terminal]:
    shell = Terminal.spawn([sys.executable, "-m", "gnomon.cli", "shell"], cli_env(daemon.home))
    try:
        shell.wait_for(lambda t: bool(re.search(r"▶ \d+ ⏳ \d+ 👁 \d+ ⛓ \d+ gnomon›", t)))
        yield shell
    finally:
        shell.close()


def prompt_line(term: Terminal) -> str:
    """The last line showing the prompt (the one being edited)."""
    return [line for line in term.lines() if PROMPT in line][-1]


def badge(term: Terminal, glyph: str) -> int:
    """The count after ``glyph`` in the current prompt's badge."""
    found = re.search(rf"{glyph} (\d+)", prompt_line(term))
    assert found is not None, term.text
    return int(found.group(1))


def test_tab_completes_commands_subcommands_and_flags(term: Terminal) -> None:
    """/sch+Tab gives /schedule, /schedule+Tab+Tab lists its flags, --ev+Tab gives --every."""
    term.type("/sch", "tab")
    term.wait_for(lambda _: prompt_line(term).endswith("/schedule"))
    term.type("ctrl-u", "/schedule", "tab", "tab")
    term.wait_for(lambda t: "--cron" in t and "--depends-on" in t)
    term.type("ctrl-u", "/schedule x --ev", "tab")
    term.wait_for(lambda _: prompt_line(term).endswith("/schedule x --every"))
    term.type("ctrl-u", "/jobs sh", "tab")
    term.wait_for(lambda _: prompt_line(term).endswith("/jobs show"))


def test_dsl_snippets_and_live_job_names_complete(term: Terminal) -> None:
    """--when offers DSL snippets; /jobs show offers a job created from the shell."""
    term.type("/schedule x --when ", "tab")
    term.wait_for("cron:0 9 * * mon-fri")
    term.type("ctrl-u", "/schedule completion-target --in 1h --do noop", "enter")
    term.wait_for("created (completion-target)")
    term.type("/jobs show compl", "tab")
    term.wait_for(lambda _: prompt_line(term).endswith("/jobs show completion-target"))


def test_a_created_job_appears_in_the_badge(term: Terminal) -> None:
    """A pending job created in the shell raises the badge's pending count."""
    before = badge(term, "⏳")
    term.type("/schedule badge-job --in 1h --do noop", "enter")
    term.wait_for("created (badge-job)")
    term.wait_for(lambda _: badge(term, "⏳") == before + 1)


def test_event_notices_print_above_the_prompt(term: Terminal) -> None:
    """A running job shows in ▶, and its completion prints a notice above the prompt."""
    term.type("/schedule notice-job --do 'shell: sleep 1'", "enter")
    term.wait_for(lambda _: badge(term, "▶") >= 1)
    term.wait_for("✔ job notice-job completed", timeout=15)
    # the prompt is redrawn below the notice (a beat later on a loaded machine)
    term.wait_for(lambda _: notice_above_prompt(term.lines()), timeout=15)
    term.wait_for(lambda _: badge(term, "▶") == 0)


def test_errors_leave_the_shell_alive(term: Terminal) -> None:
    """An unknown command and a bad flag print error: and the next command still runs."""
    term.type("/frobnicate", "enter")
    term.wait_for("error: No such command 'frobnicate'")
    term.type("/jobs list --bogus", "enter")
    term.wait_for("hint: /jobs list --help")
    term.type("jobs list", "enter")
    term.wait_for("commands start with a slash")
    term.type("/breakers", "enter")
    term.wait_for(lambda t: t.rstrip().endswith(PROMPT) and "/breakers" in t)
    assert term.proc.poll() is None


def test_exit_and_ctrl_d_end_the_shell_with_0(daemon: RealDaemon, term: Terminal) -> None:
    """/exit ends the shell with exit code 0; so does Ctrl-D in a second one."""
    term.type("/exit", "enter")
    assert term.wait_exit() == 0
    other = Terminal.spawn([sys.executable, "-m", "gnomon.cli", "shell"], cli_env(daemon.home))
    try:
        other.wait_for(PROMPT)
        other.type("ctrl-d")
        assert other.wait_exit() == 0
    finally:
        other.close()


def test_piped_commands_run_without_a_terminal(daemon: RealDaemon, tmp_path: Path) -> None:
    """With stdin not a terminal the shell runs each line and exits with the last code."""
    import subprocess

    script = "/jobs list\n/jobs show no-such-job\n"
    proc = subprocess.run(
        [sys.executable, "-m", "gnomon.cli", "shell"],
        input=script,
        capture_output=True,
        text=True,
        env=cli_env(daemon.home),
        timeout=30,
    )
    assert proc.returncode == 3
    assert "error: no job 'no-such-job'" in proc.stderr


def notice_above_prompt(lines: list[str]) -> bool:
    """The completion notice is on a line of its own above the prompt, which is last."""
    notices = [i for i, line in enumerate(lines) if "job notice-job completed" in line]
    return bool(notices) and PROMPT in lines[-1] and notices[-1] < len(lines) - 1
