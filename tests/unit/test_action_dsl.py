"""The action DSL (docs/actions-and-conditions.md): forms, errors, regressions, round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.model_strategies import actions, dsl_actions, dsl_noise

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.action_dsl import (
    ACTION_FORMS,
    action_from_json,
    format_action,
    parse_action,
)
from gnomon.runtime.model.actions import (
    Action,
    AgentTaskAction,
    HookAction,
    LlmPromptAction,
    NoopAction,
    ShellAction,
    SlashAction,
    WebhookAction,
)


def refused(text: str) -> InvalidInput:
    """Parse ``text`` and return the InvalidInput it must raise."""
    with pytest.raises(InvalidInput) as info:
        parse_action(text)
    return info.value


# --- every form --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shell: make deploy", ShellAction(command="make deploy")),
        ("sh: ./backup.sh --full", ShellAction(command="./backup.sh --full")),
        ("SHELL:ls", ShellAction(command="ls")),
        ("GET https://api/health", WebhookAction(url="https://api/health", method="GET")),
        ("POST http://h/hook", WebhookAction(url="http://h/hook")),
        ("put http://h/x | hello", WebhookAction(url="http://h/x", method="PUT", body="hello")),
        (
            'POST http://h/hook | {"event": "done"}',
            WebhookAction(
                url="http://h/hook", body='{"event": "done"}', content_type="application/json"
            ),
        ),
        (
            "PATCH http://h/x|[1, 2]",
            WebhookAction(
                url="http://h/x", method="PATCH", body="[1, 2]", content_type="application/json"
            ),
        ),
        ("DELETE https://api/items/7", WebhookAction(url="https://api/items/7", method="DELETE")),
        ("llm: summarise the logs", LlmPromptAction(prompt="summarise the logs")),
        ("agent: fix the flaky test", AgentTaskAction(task="fix the flaky test")),
        ("/run fix the flaky test", AgentTaskAction(task="fix the flaky test")),
        ("/agent triage issue 12", AgentTaskAction(task="triage issue 12")),
        (
            "worker reviewer: check PR 4: carefully",
            AgentTaskAction(task="check PR 4: carefully", profile="reviewer"),
        ),
        (
            "/jobs cancel --tag env=staging",
            SlashAction(command="/jobs cancel --tag env=staging"),
        ),
        ("/breakers", SlashAction(command="/breakers")),
        ("hook:job.completed", HookAction(event="job.completed")),
        ("hook: deploy-done", HookAction(event="deploy-done")),
        ("noop", NoopAction()),
        ("NOOP", NoopAction()),
        ("noop: nothing to do", NoopAction(message="nothing to do")),
    ],
)
def test_every_form_parses(text: str, expected: Action) -> None:
    """Each form of docs/actions-and-conditions.md gives the documented action."""
    assert parse_action(text) == expected


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "token", "accepted"),
    [
        ("", "", "shell: CMD"),
        ("open -a Docker", "open -a Docker", "shell: CMD"),
        ("/run", "/run", "/run TASK"),
        ("/agent  ", "/agent", "/agent TASK"),
        ("agent:", "agent:", "agent: TASK"),
        ("shell:", "shell:", "shell: CMD"),
        ("llm:", "llm:", "llm: PROMPT"),
        ("worker reviewer check it", "worker reviewer check it", "worker NAME: TASK"),
        ("worker bad name: t", "bad name", "letters, digits and _ . -"),
        ("worker r:", "worker r:", "worker NAME: TASK"),
        ("POST", "POST", "POST http[s]://HOST[/PATH] [| BODY]"),
        ("GET ftp://h/x", "ftp://h/x", "GET http[s]://HOST[/PATH] [| BODY]"),
        ("DELETE http:///x", "http:///x", "DELETE http[s]://HOST[/PATH] [| BODY]"),
        ("hook:", "", "hook:EVENT with EVENT made of letters, digits and _ . : * -"),
        ("hook:a b", "a b", "hook:EVENT with EVENT made of letters, digits and _ . : * -"),
        ("/usr/local/bin/backup", "/usr/local/bin/backup", "/COMMAND ARGS"),
        ("/", "/", "/COMMAND ARGS"),
    ],
)
def test_errors_name_the_token_and_the_accepted_forms(text: str, token: str, accepted: str) -> None:
    """Every refusal carries the offending token and lists what would be accepted."""
    err = refused(text)
    assert err.token == token
    assert accepted in err.accepted
    assert accepted in str(err)
    if token:
        assert token in str(err)


def test_bare_command_is_refused_with_a_shell_hint() -> None:
    """``open -a Docker`` lists every form and suggests ``shell: open -a Docker``."""
    err = refused("open -a Docker")
    assert err.accepted == ACTION_FORMS
    assert err.hint == "to run a command, write: shell: open -a Docker"


def test_path_that_looks_like_a_slash_command_gets_a_shell_hint() -> None:
    """``/usr/local/bin/backup`` is a program, not a gnomon command: hint at ``shell:``."""
    hint = refused("/usr/local/bin/backup").hint
    assert hint == "to run a program, write: shell: /usr/local/bin/backup"


# --- regressions named after the predecessor's bugs (docs/lessons.md) ---------------


def test_bug_5_1_delete_is_recognised() -> None:
    """DELETE (and PATCH) were not recognised as webhook methods."""
    assert parse_action("DELETE http://h/x").method == "DELETE"  # type: ignore[union-attr]
    assert parse_action("PATCH http://h/x").method == "PATCH"  # type: ignore[union-attr]


def test_bug_5_1_bare_run_without_a_task_is_an_error() -> None:
    """``/run`` alone is an error instead of an agent task with an empty task."""
    assert "needs TASK" in str(refused("/run"))


def test_bug_5_1_worker_without_colon_is_an_error() -> None:
    """``worker NAME TASK`` (no colon) is refused naming the missing ``:``."""
    assert "missing ':'" in str(refused("worker reviewer check"))


def test_bug_16_1_17_worker_form_is_an_agent_task_with_a_profile() -> None:
    """``worker NAME: TASK`` is an agent task with profile NAME (the reference's
    worker_dispatch type always failed)."""
    assert parse_action("worker ops: rotate logs") == AgentTaskAction(
        task="rotate logs", profile="ops"
    )


def test_bug_5_1_slash_run_is_an_agent_task_not_a_slash_command() -> None:
    """``/run TASK`` and ``/agent TASK`` are agent tasks; other ``/x`` are slash commands."""
    assert isinstance(parse_action("/run deploy"), AgentTaskAction)
    assert isinstance(parse_action("/jobs list"), SlashAction)


def test_body_that_is_not_json_has_no_content_type() -> None:
    """A plain-text body leaves the content type to the executor."""
    hook = parse_action("POST http://h/x | done: {oops")
    assert hook == WebhookAction(url="http://h/x", body="done: {oops")


# --- formatting and round trips ----------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (ShellAction(command="ls"), "shell: ls"),
        (WebhookAction(url="http://h/x"), "POST http://h/x"),
        (WebhookAction(url="http://h/x", method="PUT", body="b"), "PUT http://h/x | b"),
        (AgentTaskAction(task="t"), "agent: t"),
        (AgentTaskAction(task="t", profile="ops"), "worker ops: t"),
        (SlashAction(command="/jobs list"), "/jobs list"),
        (HookAction(event="e"), "hook:e"),
        (NoopAction(), "noop"),
        (NoopAction(message="m"), "noop: m"),
        (LlmPromptAction(prompt="p"), "llm: p"),
    ],
)
def test_format_writes_the_canonical_form(action: Action, text: str) -> None:
    """The formatter writes canonical DSL that parses back to the same action."""
    assert format_action(action) == text
    assert parse_action(text) == action


def test_format_drops_what_the_dsl_cannot_express() -> None:
    """Non-DSL fields are dropped by default and refused with ``strict=True``."""
    signed = WebhookAction(url="http://h/x", secret="ci", headers=(("A", "1"),))
    assert format_action(signed) == "POST http://h/x"
    with pytest.raises(InvalidInput, match="--do-json"):
        format_action(signed, strict=True)
    for lossy in (
        ShellAction(command="x", expect_exit=3),
        WebhookAction(url="http://h/x", body='{"a": 1}'),  # JSON body without its type
        LlmPromptAction(prompt="p", model="m"),
    ):
        with pytest.raises(InvalidInput):
            format_action(lossy, strict=True)


@given(dsl_actions)
def test_parse_format_parse_round_trips(action: Action) -> None:
    """Every DSL-expressible action formats to text that parses back to it."""
    text = format_action(action, strict=True)
    assert parse_action(text) == action


@given(dsl_noise | st.text())
def test_random_text_parses_or_raises_invalid_input_and_formats_losslessly(text: str) -> None:
    """Any string either fails with InvalidInput or parses to an action whose formatted
    text parses back to it."""
    try:
        parsed = parse_action(text)
    except InvalidInput:
        return
    assert parse_action(format_action(parsed)) == parsed


@given(actions)
def test_format_never_raises_on_any_action(action: Action) -> None:
    """Formatting any structured action (even one from JSON) returns a string."""
    assert isinstance(format_action(action), str)


def test_action_from_json_goes_through_the_wire() -> None:
    """``--do-json`` takes the wire form; unknown keys and bad tags are refused."""
    hook = WebhookAction(url="http://h/x", method="DELETE", headers=(("A", "1"),))
    assert action_from_json(wire.to_json(hook)) == hook
    with pytest.raises(InvalidInput) as info:
        action_from_json('{"type": "webhook", "url": "http://h", "verb": "DELETE"}')
    err = info.value
    assert err.token == "verb"
    assert "verb" in str(err)
    with pytest.raises(InvalidInput, match="worker_dispatch"):
        action_from_json('{"type": "worker_dispatch", "task": "x"}')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        action_from_json("shell: ls")
