"""The pure parts of ``gnomon shell``: completion from the click tree, line parsing, the
badge, event notices and the live state, all without a terminal or a daemon."""

from __future__ import annotations

from typing import Any

import click
import pytest

from gnomon.cli.main import cli
from gnomon.cli.shell import Line, help_text, parse_line, run_command
from gnomon.cli.shell_complete import Snippet, candidates, quoted, split_words
from gnomon.cli.shell_live import LiveState, badge_text, notice_text


def texts(line: str, names: tuple[str, ...] = ()) -> list[str]:
    return [c.text for c in candidates(cli, line, lambda: names)]


def displays(line: str, names: tuple[str, ...] = ()) -> list[str]:
    return [c.display for c in candidates(cli, line, lambda: names)]


def test_command_names_come_from_the_click_tree() -> None:
    """Every top-level command is offered with a slash, plus /help and /exit, minus /shell."""
    offered = set(displays("/"))
    assert {f"/{name}" for name in cli.commands if name != "shell"} <= offered
    assert {"/help", "/exit"} <= offered
    assert "/shell" not in offered


def test_a_prefix_completes_to_the_command_and_a_space() -> None:
    """``/sch`` completes to ``/schedule `` replacing the four typed characters."""
    (only,) = candidates(cli, "/sch")
    assert (only.text, only.replace) == ("/schedule ", 4)


def test_subcommands_of_a_group() -> None:
    """``/jobs `` offers the jobs group's subcommands; a prefix narrows them."""
    assert set(texts("/jobs ")) >= {"list ", "show ", "cancel ", "logs ", "run "}
    assert texts("/jobs ca") == ["cancel "]
    assert texts("/config s") == ["scheduler ", "show "]


def test_flags_of_the_command_being_typed() -> None:
    """``--ev`` after /schedule completes to ``--every``; flags already given are not offered."""
    assert texts("/schedule x --ev") == ["--every "]
    assert "--every " not in texts("/schedule x --every 5m --")
    assert "--tag " in texts("/schedule x --tag a=b --")  # repeatable


def test_flags_follow_the_click_tree_when_a_flag_is_added() -> None:
    """A flag added to a command shows up in completion without touching the shell."""
    group = click.Group("root", commands=[click.Command("hello", params=[click.Option(["--x"])])])
    assert [c.text for c in candidates(group, "/hello --")] == ["--help ", "--x "]


def test_dsl_snippets_after_when_do_and_until() -> None:
    """--when, --cron, --do and --until offer DSL snippets, quoted to be typed on."""
    assert "'every 5m'" in texts("/schedule x --when ")
    assert "'cron:0 9 * * mon-fri'" in texts("/schedule x --when cr")
    assert "'0 9 * * mon-fri'" in texts("/schedule x --cron ")
    assert "'shell: " in texts("/schedule x --do sh")
    assert "tcp://HOST:PORT" in displays("/wait --until ")
    assert "http://URL==200" in displays("/schedule x --wait ")
    assert "5m" in texts("/schedule x --timeout ")


def test_choices_of_an_option() -> None:
    """An option with a fixed set of values (a click.Choice or a ``a|b`` metavar) offers them."""
    assert set(texts("/schedule x --overlap ")) == {
        "skip ",
        "queue ",
        "allow ",
        "cancel_previous ",
    }
    assert texts("/completion ") == ["bash ", "zsh ", "fish "]


def test_live_job_names_after_a_ref() -> None:
    """REF arguments and REF-valued options complete live job names."""
    names = ("backup", "build", "deploy")
    for sub in ("show", "cancel", "pause", "resume", "run", "logs"):
        assert texts(f"/jobs {sub} b", names) == ["backup ", "build "]
    assert texts("/schedule x --depends-on d", names) == ["deploy "]
    assert texts("/events --job ", names) == ["backup ", "build ", "deploy "]


def test_no_completion_without_a_slash() -> None:
    """Plain text gets no suggestions (the shell explains slash commands instead)."""
    assert texts("jobs") == []


def test_split_words_tolerates_an_open_quote() -> None:
    """The word being typed keeps its raw form (quote included) and its value."""
    words = split_words("/schedule x --do 'shell: ec")
    assert words.done == ("/schedule", "x", "--do")
    assert (words.raw, words.value) == ("'shell: ec", "shell: ec")
    assert split_words("/jobs ").raw == ""


def test_quoting_of_snippets() -> None:
    """Complete values are shell-quoted; open ones leave their quote open."""
    assert quoted(Snippet("every 5m", "")) == "'every 5m'"
    assert quoted(Snippet("shell: ", "", open=True)) == "'shell: "
    assert quoted(Snippet("tcp://localhost:", "")) == "tcp://localhost:"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", Line("empty")),
        ("   ", Line("empty")),
        ("/exit", Line("exit")),
        ("/quit", Line("exit")),
        ("/", Line("help")),
        ("/help jobs", Line("help", ("jobs",))),
        ("/jobs show 'my job'", Line("run", ("jobs", "show", "my job"))),
        ("jobs list", Line("plain", ("jobs", "list"))),
    ],
)
def test_parse_line(text: str, line: Line) -> None:
    """Lines are classified and split like a shell would."""
    assert parse_line(text) == line


def test_an_unclosed_quote_is_a_bad_line() -> None:
    """A line shlex cannot split says why instead of running anything."""
    parsed = parse_line("/schedule x --do 'shell: echo")
    assert parsed.kind == "bad"
    assert "quotation" in parsed.message


def test_help_lists_every_command_and_the_keys() -> None:
    """/help names each slash command and the keys."""
    text = help_text(cli)
    for name in cli.commands:
        if name != "shell":
            assert f"/{name}" in text
    assert "Ctrl-D" in text
    assert "Tab" in text


def test_a_usage_error_prints_error_and_hint_and_returns_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad flag is reported like the CLI reports it, with a slash-command hint."""
    assert run_command(cli, ["jobs", "list", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert "error: No such option '--bogus'" in err
    assert "hint: /jobs list --help" in err


def test_a_command_exit_is_returned_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    """A command's own exit code comes back (no SystemExit escapes), --help returns 0."""
    assert run_command(cli, ["schedule", "x", "--do", "shell: true", "--every", "zz"]) == 2
    assert "error:" in capsys.readouterr().err
    assert run_command(cli, ["jobs", "--help"]) == 0
    assert "Usage:" in capsys.readouterr().out


def test_the_shell_is_not_nested(capsys: pytest.CaptureFixture[str]) -> None:
    """/shell inside the shell is refused."""
    assert run_command(cli, ["shell"]) == 2
    assert "not available inside the shell" in capsys.readouterr().err


def test_badge_text() -> None:
    """The badge shows running, pending, waiting and blocked counts, or offline."""
    assert badge_text({"running": 2, "pending": 1, "paused": 4}) == "▶ 2 ⏳ 1 👁 0 ⛓ 0"
    assert badge_text({}) == "▶ 0 ⏳ 0 👁 0 ⛓ 0"
    assert "offline" in badge_text(None)


def event(
    kind: str, job: str | None = "j1", status: str | None = None, **kw: Any
) -> dict[str, Any]:
    return {"type": kind, "job_id": job, "name": kw.pop("name", "a"), "status": status, **kw}


def test_live_state_follows_events() -> None:
    """A snapshot, then events, keep the counts and live names current."""
    state = LiveState()
    assert state.counts() is None
    state.reset([{"id": "j1", "name": "a", "status": "pending"}])
    assert state.counts() == {"pending": 1}
    assert state.apply(event("job.created", "j2", "pending", name="b"))
    assert state.apply(event("job.fired", "j2", "running", name="b"))
    assert state.counts() == {"pending": 1, "running": 1}
    assert state.names() == ["a", "b"]
    assert state.apply(event("job.completed", "j2", "completed", name="b"))
    assert not state.apply(event("breaker.opened", None))
    assert state.counts() == {"pending": 1}
    assert state.names() == ["a"]
    state.offline("gone")
    assert state.counts() is None


def test_notice_text() -> None:
    """Completions, failures, timeouts and breakers get a line; routine events do not."""
    done = notice_text(event("job.completed", message="fire 1 succeeded", timestamp="x"))
    assert done is not None
    assert "✔ job a completed — fire 1 succeeded" in done
    failed = notice_text(event("job.timed_out", name="w", timestamp="2026-01-01T00:00:00+00:00"))
    assert failed is not None
    assert "job w timed out" in failed
    breaker = notice_text(
        {"type": "breaker.opened", "payload": {"key": "http:x"}, "message": "5 failures"}
    )
    assert breaker is not None
    assert "breaker http:x opened" in breaker
    assert notice_text(event("job.fired")) is None
    fire = event("job.completed", None, "pending", message="fire 55 succeeded", timestamp="x")
    fire["payload"] = {"cycle": 55}  # a recurring job: the job goes on, pending
    assert notice_text(fire) == "--:--:-- ✔ a: fire 55 succeeded"
    fire.update(type="job.failed", message="exit code 1")
    assert notice_text(fire) == "--:--:-- ✘ a: fire 55 failed — exit code 1"
    coloured = notice_text(event("job.failed"), colour=True)
    assert coloured is not None
    assert coloured.startswith("\x1b[31m")
