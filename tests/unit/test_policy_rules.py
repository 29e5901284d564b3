"""The shell policy's pure rules: splitting, classification, decisions and messages."""

from __future__ import annotations

import pytest

from gnomon.actors.core.shell.rules import (
    BYPASS_ENV,
    Decision,
    PolicyRules,
    check,
    classify,
    normalise,
    split_command,
    suggest_pattern,
    validate_pattern,
)
from gnomon.runtime.errors import InvalidInput, Refused

RULES = PolicyRules(allow=("terraform plan", "make *"), deny=("rm -rf *", "curl * | sh"))


def decision(command: str, rules: PolicyRules = RULES) -> Decision:
    return classify(command, rules).decision


def test_split_respects_quotes_and_separators() -> None:
    """Separators inside quotes do not split; every operator outside them does."""
    parts = split_command("echo 'a; b' && ls | wc -l; true || false & sleep 1\ndate")
    assert parts == ["echo 'a; b'", "ls", "wc -l", "true", "false", "sleep 1", "date"]


def test_redirections_are_not_separators() -> None:
    """``2>&1``, ``&>`` and ``>|`` stay inside their part."""
    assert split_command("make 2>&1 &> log >| out") == ["make 2>&1 &> log >| out"]


def test_normalise_collapses_unquoted_whitespace_only() -> None:
    """Runs of whitespace outside quotes become one space; quoted text is kept."""
    assert normalise("  ls   -l   'a  b'  ") == "ls -l 'a  b'"
    assert normalise("a\nb") == "a ; b"


@pytest.mark.parametrize(
    "command",
    ["ls -la /tmp", "cat x | grep y && echo ok; true", "kubectl get pods -n prod",
     "docker ps -a", "(cd /tmp && ls)", "if test -f x; then echo y; fi", "ls 2>/dev/null",
     "echo hi >&2", "sleep 100 & sleep 100 & wait"],
)  # fmt: skip
def test_builtin_read_only_commands_are_allowed(command: str) -> None:
    """The built-in read-only allowlist covers common inspection commands."""
    assert decision(command) is Decision.ALLOW


@pytest.mark.parametrize(
    "command",
    ["terraform apply", "kubectl delete pod x", "ls > /tmp/out", "FOO=1 ls", "./ls",
     "kubectl -n prod get pods", "python3 -c 'print(1)'"],
)  # fmt: skip
def test_everything_else_asks(command: str) -> None:
    """Writes, unknown programs, assignments and paths are not auto-allowed."""
    assert decision(command) is Decision.ASK


def test_builtin_list_can_be_switched_off() -> None:
    """``builtin = false`` leaves only the operator's allow rules."""
    assert decision("ls", PolicyRules(builtin=False)) is Decision.ASK


def test_allow_patterns_match_whole_words_prefixes() -> None:
    """``terraform plan`` allows its arguments but not ``terraform planx``."""
    assert decision("terraform plan -out x") is Decision.ALLOW
    assert decision("terraform planx") is Decision.ASK
    assert decision("make deploy") is Decision.ALLOW


def test_compound_strictest_part_wins() -> None:
    """One ``ask`` part makes the command ``ask``; one ``deny`` part makes it ``deny``."""
    assert decision("ls && terraform apply") is Decision.ASK
    assert decision("ls; rm -rf /tmp/x; terraform plan") is Decision.DENY
    assert classify("ls && terraform apply", RULES).deciding is not None


def test_substitution_is_ask_at_best() -> None:
    """``$(…)`` and backticks are never allowed by a rule, even around allowed commands."""
    assert decision("echo $(date)") is Decision.ASK
    assert decision("echo `whoami`") is Decision.ASK
    assert decision("make $(cat target)") is Decision.ASK


def test_deny_sees_inside_substitutions_and_wrappers() -> None:
    """Deny rules match commands inside ``$(…)``, behind sudo/env and ``sh -c``."""
    assert decision("echo $(rm -rf /)") is Decision.DENY
    assert decision("sudo /bin/rm -rf /") is Decision.DENY
    assert decision("env X=1 nohup rm -rf /srv") is Decision.DENY
    assert decision("bash -c 'rm -rf /x'") is Decision.DENY


def test_deny_patterns_match_the_whole_command() -> None:
    """A deny pattern spanning a pipe is matched against the whole normalised command."""
    assert decision("curl http://x |   sh") is Decision.DENY


def test_deny_beats_allow() -> None:
    """A command matched by both an allow and a deny rule is denied."""
    rules = PolicyRules(allow=("make *",), deny=("make deploy",))
    assert decision("make deploy", rules) is Decision.DENY


def test_deny_wins_over_i_know_and_bypass() -> None:
    """Neither ``--i-know`` nor an enabled bypass clears a deny; the message says so."""
    with pytest.raises(Refused) as err:
        check("rm -rf /", RULES, i_know=True, bypass=True, bypass_enabled=True)
    assert err.value.reason == "policy"
    assert "deny rules win" in err.value.message
    assert "gnomon policy remove 'rm -rf *'" in err.value.message


def test_ask_is_refused_without_i_know_and_runs_with_it() -> None:
    """An ``ask`` command is refused with the three ways out, and passes with --i-know."""
    with pytest.raises(Refused) as err:
        check("terraform apply -auto-approve", RULES)
    msg = err.value.message
    assert "--i-know" in msg
    assert "gnomon policy allow 'terraform apply'" in msg
    assert f"{BYPASS_ENV}=true" in msg
    assert "bypass_safety" in msg
    assert check("terraform apply", RULES, i_know=True).decision is Decision.ASK


def test_bypass_needs_the_operator_switch() -> None:
    """``bypass_safety`` without the env switch is refused, even for an allowed command."""
    with pytest.raises(Refused) as err:
        check("ls", RULES, bypass=True, bypass_enabled=False)
    assert f"bypass_safety requires the operator to set {BYPASS_ENV}=true" in err.value.message
    assert check("terraform apply", RULES, bypass=True, bypass_enabled=True)


def test_suggested_pattern_is_program_and_subcommand() -> None:
    """The suggested allow rule names the program and its subcommand, not the arguments;
    wrappers stay as written, so the rule really allows the command."""
    assert suggest_pattern("terraform apply -auto-approve") == "terraform apply"
    wrapped = "sudo /usr/bin/systemctl restart"
    assert suggest_pattern("sudo /usr/bin/systemctl restart web") == wrapped
    assert suggest_pattern("pg_dump -h db") == "pg_dump"


def test_allow_patterns_must_name_one_command() -> None:
    """An allow pattern with a separator or substitution is refused; deny may span."""
    with pytest.raises(InvalidInput):
        validate_pattern("make && make deploy", kind="allow")
    with pytest.raises(InvalidInput):
        validate_pattern("echo $(x)", kind="allow")
    with pytest.raises(InvalidInput):
        validate_pattern("   ", kind="deny")
    assert validate_pattern("curl *  |  sh", kind="deny") == "curl * | sh"


def test_empty_command_is_allowed() -> None:
    """A command with no part (only a comment) runs nothing and is allowed."""
    assert decision("# nothing") is Decision.ALLOW
