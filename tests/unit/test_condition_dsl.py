"""The condition DSL (docs/actions-and-conditions.md): forms, errors, injection refusal,
round-trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.model_strategies import conditions, dsl_conditions, dsl_noise

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.condition_dsl import (
    condition_from_json,
    format_condition,
    parse_condition,
)
from gnomon.runtime.model.conditions import (
    CONDITION_FORMS,
    AllOf,
    AnyOf,
    Condition,
    DockerCondition,
    FileCondition,
    HttpCondition,
    K8sCondition,
    LlmCondition,
    Not,
    OutputCondition,
    ShellCondition,
    TcpCondition,
)

TCP = TcpCondition(host="db", port=5432)
SH = ShellCondition(command="true")


def refused(text: str) -> InvalidInput:
    """Parse ``text`` and return the InvalidInput it must raise."""
    with pytest.raises(InvalidInput) as info:
        parse_condition(text)
    return info.value


# --- every form --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://api/health", HttpCondition(url="http://api/health")),
        ("https://api/h==204", HttpCondition(url="https://api/h", status=204)),
        ("HTTPS://api/h == 503", HttpCondition(url="HTTPS://api/h", status=503)),
        (
            "http://api/status~=/ready|ok/",
            HttpCondition(url="http://api/status", status=None, body_regex="ready|ok"),
        ),
        (
            "http://api/s ~= /a/b/",
            HttpCondition(url="http://api/s", status=None, body_regex="a/b"),
        ),
        ("http://[::1]:8080/x==200", HttpCondition(url="http://[::1]:8080/x")),
        ("tcp://db:5432", TCP),
        ("tcp://10.0.0.1:1", TcpCondition(host="10.0.0.1", port=1)),
        ("tcp://[::1]:8080", TcpCondition(host="::1", port=8080)),
        ("tcp://h:65535", TcpCondition(host="h", port=65535)),
        ("file:/tmp/ready", FileCondition(path="/tmp/ready")),
        ("file: /tmp/out.csv >= 512", FileCondition(path="/tmp/out.csv", min_size=512)),
        ("file:/x>=10k", FileCondition(path="/x", min_size=10_000)),
        ("file:/x>=5MiB", FileCondition(path="/x", min_size=5 * 2**20)),
        ("file:/x>=1.5 KB", FileCondition(path="/x", min_size=1500)),
        ("file:/x>=2GiB", FileCondition(path="/x", min_size=2 * 2**30)),
        ("file:/x>100", FileCondition(path="/x", min_size=101)),
        ("file:/a b/c.txt", FileCondition(path="/a b/c.txt")),
        ("shell: test -f /tmp/x", ShellCondition(command="test -f /tmp/x")),
        ("sh: pg_isready -h db", ShellCondition(command="pg_isready -h db")),
        ("SHELL:true", SH),
        ("sh: echo a, b", ShellCondition(command="echo a, b")),
        (
            "kubectl get pods ~= /Running/",
            OutputCondition(command="kubectl get pods", pattern="Running"),
        ),
        ("regex: ls /tmp ~= /\\.done$/", OutputCondition(command="ls /tmp", pattern="\\.done$")),
        ("docker:web", DockerCondition(name="web")),
        ("docker:web:running", DockerCondition(name="web")),
        ("docker:web:healthy", DockerCondition(name="web", state="healthy")),
        ("docker:web-*:healthy", DockerCondition(name="web-", prefix=True, state="healthy")),
        ("k8s:pod/web", K8sCondition(kind="pod", name="web")),
        ("k8s:pod/prod/web", K8sCondition(kind="pod", namespace="prod", name="web")),
        (
            "k8s:deployment/prod/api:Available",
            K8sCondition(kind="deployment", namespace="prod", name="api", condition="Available"),
        ),
        ("k8s:pod/ns/web-*", K8sCondition(kind="pod", namespace="ns", name="web-", prefix=True)),
        ("llm: is the deploy done?", LlmCondition(question="is the deploy done?")),
    ],
)
def test_every_leaf_form_parses(text: str, expected: Condition) -> None:
    """Each leaf form of docs/actions-and-conditions.md gives the documented condition."""
    assert parse_condition(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("and(tcp://db:5432, sh: true)", AllOf(children=(TCP, SH))),
        ("all_of(tcp://db:5432, sh: true)", AllOf(children=(TCP, SH))),
        ("or(tcp://db:5432, sh: true)", AnyOf(children=(TCP, SH))),
        ("any_of(tcp://db:5432)", AnyOf(children=(TCP,))),
        ("AND ( tcp://db:5432 , sh: true )", AllOf(children=(TCP, SH))),
        ("not tcp://db:5432", Not(child=TCP)),
        ("not(tcp://db:5432)", Not(child=TCP)),
        ("not (tcp://db:5432)", Not(child=TCP)),
        ("not not sh: true", Not(child=Not(child=SH))),
        ("(tcp://db:5432)", TCP),
        (
            "or(and(tcp://db:5432, not sh: true), not(or(sh: true)))",
            AnyOf(
                children=(
                    AllOf(children=(TCP, Not(child=SH))),
                    Not(child=AnyOf(children=(SH,))),
                )
            ),
        ),
    ],
)
def test_composites_nest_freely(text: str, expected: Condition) -> None:
    """and/or/all_of/any_of/not and plain parentheses compose at any depth."""
    assert parse_condition(text) == expected


def test_not_of_composites() -> None:
    """``not`` applies to a whole composite in both spellings."""
    both = AllOf(children=(TCP, SH))
    assert parse_condition("not and(tcp://db:5432, sh: true)") == Not(child=both)
    assert parse_condition("not(and(tcp://db:5432, sh: true))") == Not(child=both)
    assert parse_condition("not(or(sh: true, tcp://db:5432))") == Not(
        child=AnyOf(children=(SH, TCP))
    )


@pytest.mark.parametrize(
    ("text", "children"),
    [
        ("and(sh: echo 'a, b', sh: true)", ("echo 'a, b'", "true")),
        ('and(sh: echo "a, (b", sh: true)', ('echo "a, (b"', "true")),
        ("and(sh: echo `date +%s,%N`, sh: true)", ("echo `date +%s,%N`", "true")),
        ("and((sh: echo a, b), sh: true)", ("echo a, b", "true")),
    ],
)
def test_top_level_commas_respect_quotes_and_parentheses(text: str, children: Any) -> None:
    """Commas inside quotes or an extra pair of parentheses do not split arguments."""
    parsed = parse_condition(text)
    assert isinstance(parsed, AllOf)
    assert tuple(c.command for c in parsed.children) == children  # type: ignore[union-attr]


def test_top_level_commas_respect_regex_bodies() -> None:
    """Commas and parentheses inside /regex/ bodies do not split or nest."""
    parsed = parse_condition("or(ls ~= /a,b/, ls ~= /(x|y)/, http://h/~=/[,)]/)")
    assert parsed == AnyOf(
        children=(
            OutputCondition(command="ls", pattern="a,b"),
            OutputCondition(command="ls", pattern="(x|y)"),
            HttpCondition(url="http://h/", status=None, body_regex="[,)]"),
        )
    )


def test_apostrophes_inside_words_are_not_quotes() -> None:
    """``isn't`` in an llm question does not open a quoted string."""
    parsed = parse_condition("and(llm: isn't it done?, tcp://db:5432)")
    assert parsed == AllOf(children=(LlmCondition(question="isn't it done?"), TCP))


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "token", "accepted"),
    [
        ("", "", "http[s]://URL[==CODE]"),
        ("open -a Docker", "open -a Docker", "shell: CMD"),
        ("tcp://db", "db", "tcp://HOST:PORT"),
        ("tcp://db:0", "0", "a port 1-65535"),
        ("tcp://db:65536", "65536", "a port 1-65535"),
        ("tcp://db:http", "http", "a port 1-65535"),
        ("tcp://::1:80", "::1:80", "tcp://[IPv6]:PORT"),
        ("http://h==99", "99", "a status 100-599"),
        ("http://h==2000", "2000", "a status 100-599"),
        ("http:// h", "http:// h", "http[s]://HOST[:PORT][/PATH]"),
        ("ls ~= /(unclosed/", "(unclosed", "a Python regex between slashes"),
        ("http://h~=/[/", "[", "a Python regex between slashes"),
        ("file:", "file:", "file:PATH"),
        ("file:/x>=1.5", "1.5", "10k"),
        ("shell:", "shell:", "shell: CMD"),
        ("llm:", "llm:", "llm: QUESTION"),
        ("regex: ls", "ls", "regex: CMD ~= /RE/"),
        ("docker:web:stopped", "stopped", "healthy"),
        ("k8s:web", "web", "k8s:KIND[/NS]/NAME[:COND]"),
        ("k8s:a/b/c/d", "a/b/c/d", "k8s:KIND[/NS]/NAME[:COND]"),
        ("and()", "and()", "and(A, B, …)"),
        ("and(sh: a, )", "and(sh: a, )", "and(A, B, …)"),
        ("and(sh: a", "and(sh: a", "balanced parentheses"),
        ("not(tcp://db:1, sh: a)", "tcp://db:1, sh: a", "not(A)"),
    ],
)
def test_errors_name_the_token_and_the_accepted_forms(text: str, token: str, accepted: str) -> None:
    """Every refusal carries the offending token and lists what would be accepted."""
    err = refused(text)
    assert err.token == token
    assert accepted in err.accepted
    assert accepted in str(err)
    if token:
        assert token[:50] in str(err)


def test_unknown_form_lists_every_form_and_hints_at_shell() -> None:
    """A bare command is refused with all forms listed and a ``shell:`` hint."""
    err = refused("pg_isready -h db")
    assert err.accepted == CONDITION_FORMS
    assert err.hint == "to wait for a command to succeed, write: shell: pg_isready -h db"
    assert refused("htp://api/health").hint is None


@pytest.mark.parametrize(
    "text",
    [
        "docker:x; touch pwned",
        "docker:$(touch pwned)",
        "docker:`touch pwned`",
        "docker:web && rm -rf /",
        "docker:web|id",
        "docker:we b",
        "docker:web*x",
        "k8s:pod/x; touch pwned",
        "k8s:pod/$(touch pwned)/web",
        "k8s:pod/ns/web:Ready;id",
        "k8s:`id`/web",
        "k8s:pod/web -o json",
    ],
)
def test_injection_attempts_in_docker_and_k8s_names_are_refused(text: str) -> None:
    """Names reach an argv list later, but shell metacharacters are refused at parse time."""
    err = refused(text)
    assert "letters, digits and ._-" in str(err) or "running" in str(err)


def test_nesting_is_bounded() -> None:
    """Absurdly deep nesting is an InvalidInput, not a RecursionError."""
    with pytest.raises(InvalidInput, match="nested deeper"):
        parse_condition("not " * 1000 + "sh: true")
    with pytest.raises(InvalidInput):
        parse_condition("and(" * 500 + "sh: true" + ")" * 500)


# --- regressions named after the predecessor's bugs (docs/lessons.md) ---------------


def test_bug_16_1_8_not_form_with_parentheses_parses() -> None:
    """``not(...)`` was unsupported; it parses, and ``not`` of an error stays an error
    (the model's ``Not`` documents it; evaluation is the actors' job)."""
    assert parse_condition("not(docker:web)") == Not(child=DockerCondition(name="web"))


def test_bug_16_1_18_url_with_double_equals() -> None:
    """A URL that contains ``==`` splits on the last ``==`` followed by a status."""
    assert parse_condition("http://h/q?a==b==201") == HttpCondition(
        url="http://h/q?a==b", status=201
    )
    assert parse_condition("http://h/?token=abc==") == HttpCondition(url="http://h/?token=abc==")


def test_bug_4_2_url_with_match_operator_inside() -> None:
    """A URL that contains ``~=`` splits on the last ``~=`` followed by a /regex/."""
    assert parse_condition("http://h/?q~=1~=/ok/") == HttpCondition(
        url="http://h/?q~=1", status=None, body_regex="ok"
    )


def test_bug_4_2_regex_prefix_is_stripped_from_the_command() -> None:
    """``regex: CMD ~= /RE/`` keeps ``regex:`` out of the command."""
    assert parse_condition("regex: cat /tmp/log ~= /done/") == OutputCondition(
        command="cat /tmp/log", pattern="done"
    )


def test_bug_4_2_file_strictly_greater_differs_from_at_least() -> None:
    """``>N`` means strictly greater (min_size N+1); ``>=N`` means at least N."""
    assert parse_condition("file:/x>10").min_size == 11  # type: ignore[union-attr]
    assert parse_condition("file:/x>=10").min_size == 10  # type: ignore[union-attr]


def test_bug_16_1_7_docker_name_is_never_interpolated_into_a_shell() -> None:
    """The docker name is validated as a plain name, so ``;`` cannot smuggle a command."""
    assert "x; touch pwned" in str(refused("docker:x; touch pwned"))


def test_bug_4_2_composites_accept_a_single_child() -> None:
    """``and(A)`` is accepted (the reference demanded two children for no reason)."""
    assert parse_condition("and(sh: true)") == AllOf(children=(SH,))


# --- formatting and round trips ----------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (HttpCondition(url="http://h/x"), "http://h/x"),
        (HttpCondition(url="http://h/x", status=204), "http://h/x==204"),
        (HttpCondition(url="http://h/?a==b"), "http://h/?a==b==200"),
        (HttpCondition(url="http://h/", status=None, body_regex="a/b"), "http://h/~=/a\\/b/"),
        (TcpCondition(host="::1", port=80), "tcp://[::1]:80"),
        (FileCondition(path="/x", min_size=5), "file:/x>=5"),
        (FileCondition(path="/x>=5"), "file:/x>=5>=0"),
        (OutputCondition(command="sh: x", pattern="y"), "regex: sh: x ~= /y/"),
        (DockerCondition(name="web-", prefix=True, state="healthy"), "docker:web-*:healthy"),
        (K8sCondition(kind="pod", name="web", namespace="ns"), "k8s:pod/ns/web"),
        (Not(child=AllOf(children=(TCP, SH))), "not and(tcp://db:5432, shell: true)"),
        (
            AnyOf(children=(ShellCondition(command="echo a, b"), TCP)),
            "or((shell: echo a, b), tcp://db:5432)",
        ),
    ],
)
def test_format_writes_the_canonical_form(condition: Condition, text: str) -> None:
    """The formatter writes canonical DSL that parses back to the same condition."""
    assert format_condition(condition) == text
    assert parse_condition(text) == condition


def test_format_drops_what_the_dsl_cannot_express() -> None:
    """Non-DSL fields are dropped by default and refused with ``strict=True``."""
    rich = HttpCondition(url="http://h/", method="POST", headers=(("A", "1"),), timeout=3.0)
    assert format_condition(rich) == "http://h/"
    with pytest.raises(InvalidInput, match="without loss"):
        format_condition(rich, strict=True)
    for lossy in (
        ShellCondition(command="x", expect_exit=1),
        FileCondition(path="/x", stable_for=5.0),
        HttpCondition(url="http://h/", status=200, body_regex="ok"),
        OutputCondition(command="x", pattern="y", source="stderr"),
        LlmCondition(question="q", passes_if="no"),
    ):
        with pytest.raises(InvalidInput):
            format_condition(lossy, strict=True)


@given(dsl_conditions)
def test_parse_format_parse_round_trips(condition: Condition) -> None:
    """Every DSL-expressible condition formats to text that parses back to it."""
    text = format_condition(condition, strict=True)
    assert parse_condition(text) == condition


@given(dsl_noise | st.text())
def test_random_text_parses_or_raises_invalid_input_and_formats_losslessly(text: str) -> None:
    """Any string either fails with InvalidInput or parses to a condition whose formatted
    text parses back to it."""
    try:
        parsed = parse_condition(text)
    except InvalidInput:
        return
    assert parse_condition(format_condition(parsed)) == parsed


@given(conditions)
def test_format_never_raises_on_any_condition(condition: Condition) -> None:
    """Formatting any structured condition (even one from JSON) returns a string."""
    assert isinstance(format_condition(condition), str)


def test_condition_from_json_goes_through_the_wire() -> None:
    """The JSON form is the wire form; unknown keys are refused."""
    text = wire.to_json(Not(child=TCP))
    assert condition_from_json(text) == Not(child=TCP)
    with pytest.raises(InvalidInput, match="bogus"):
        condition_from_json('{"type": "tcp", "host": "h", "port": 1, "bogus": 1}')
