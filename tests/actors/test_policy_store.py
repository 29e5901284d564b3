"""policy.toml: editing, reloading on change, failing closed, and admission of whole jobs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gnomon.actors.core.shell.rules import Decision
from gnomon.actors.shell_policy import ShellPolicy, shell_commands
from gnomon.runtime.errors import InvalidInput, Refused
from gnomon.runtime.model.actions import NoopAction, ShellAction
from gnomon.runtime.model.conditions import AllOf, LlmCondition, Not, OutputCondition
from gnomon.runtime.model.enums import OnTimeout
from gnomon.runtime.model.job import JobSpec, WaitSpec
from gnomon.runtime.model.schedule import ManualSchedule


def job(action: object, wait: WaitSpec | None = None, *, i_know: bool = False) -> JobSpec:
    return JobSpec(
        name="j",
        schedule=ManualSchedule(),
        action=action,
        wait=wait,
        i_know=i_know,  # type: ignore[arg-type]
    )


def test_allow_deny_remove_and_list_round_trip(tmp_path: Path) -> None:
    """Rules added and removed are stored in policy.toml (mode 0600) and listed back."""
    policy = ShellPolicy.in_home(tmp_path)
    assert policy.allow("terraform   plan") is True
    assert policy.allow("terraform plan") is False
    assert policy.deny("rm -rf *") is True
    rules = ShellPolicy.in_home(tmp_path).listing()
    assert rules.allow == ("terraform plan",)
    assert rules.deny == ("rm -rf *",)
    assert os.stat(tmp_path / "policy.toml").st_mode & 0o777 == 0o600
    assert policy.remove("rm -rf *") == ["deny"]
    assert policy.remove("nope") == []
    assert ShellPolicy.in_home(tmp_path).listing().deny == ()


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_deny_added_later_takes_effect_at_once(tmp_path: Path) -> None:
    """A deny added through the policy object (the daemon's ``policy.set``) stops the very
    next check, however soon."""
    clock = FakeClock()
    policy = ShellPolicy.in_home(tmp_path, clock=clock)
    policy.check("terraform apply", i_know=True)
    policy.deny("terraform apply")
    with pytest.raises(Refused, match="deny"):
        policy.check("terraform apply", i_know=True)


def test_a_hand_edit_is_seen_within_a_second(tmp_path: Path) -> None:
    """Another writer's change is picked up at the first check a second after the last
    look at the file, not before (one ``stat`` a second at most)."""
    clock = FakeClock()
    policy = ShellPolicy.in_home(tmp_path, clock=clock)
    policy.check("terraform apply", i_know=True)
    ShellPolicy.in_home(tmp_path).deny("terraform apply")
    clock.now += 0.5
    policy.check("terraform apply", i_know=True)  # not looked at again yet
    clock.now += 0.5
    with pytest.raises(Refused, match="deny"):
        policy.check("terraform apply", i_know=True)


def test_the_file_is_looked_at_once_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thousand checks within a second cost one ``stat`` of policy.toml."""
    clock = FakeClock()
    policy = ShellPolicy.in_home(tmp_path, clock=clock)
    looks: list[object] = []
    real_stat = os.stat

    def counting_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        looks.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    for _ in range(1000):
        policy.check("ls")
    assert looks == [tmp_path / "policy.toml"]
    clock.now += 1.0
    policy.check("ls")
    assert len(looks) == 2


def test_a_file_broken_later_fails_closed_within_a_second(tmp_path: Path) -> None:
    """A policy.toml that becomes malformed refuses every shell command from the next look
    on."""
    clock = FakeClock()
    policy = ShellPolicy.in_home(tmp_path, clock=clock)
    policy.allow("make")
    policy.check("make")
    (tmp_path / "policy.toml").write_text("allow = [\n")
    clock.now += 1.0
    with pytest.raises(Refused, match=r"policy\.toml"):
        policy.check("make")


def test_malformed_policy_fails_closed(tmp_path: Path) -> None:
    """A broken policy.toml refuses every shell command and names the file."""
    (tmp_path / "policy.toml").write_text("allow = [1, 2\n")
    policy = ShellPolicy.in_home(tmp_path)
    with pytest.raises(Refused, match=r"policy\.toml"):
        policy.check("ls")
    with pytest.raises(InvalidInput):
        policy.listing()


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    """A misspelt key is an error, not silently ignored."""
    (tmp_path / "policy.toml").write_text('alow = ["ls"]\n')
    with pytest.raises(Refused, match="alow"):
        ShellPolicy.in_home(tmp_path).check("ls")


def test_builtin_switch_in_the_file(tmp_path: Path) -> None:
    """``builtin = false`` turns the read-only allowlist off."""
    (tmp_path / "policy.toml").write_text("builtin = false\n")
    assert ShellPolicy.in_home(tmp_path).classify("ls").decision is Decision.ASK


def test_shell_commands_of_a_job_cover_every_place() -> None:
    """Action, nested condition commands, LLM context commands and the fallback are found."""
    cond = AllOf(
        children=(
            Not(child=OutputCondition(command="curl -s x", pattern="ok", bypass_safety=True)),
            LlmCondition(question="up?", context_cmd="kubectl get pods"),
        )
    )
    spec = job(
        ShellAction(command="make"),
        WaitSpec(condition=cond, on_timeout=OnTimeout.FALLBACK,
                 fallback=ShellAction(command="echo fallback")),
    )  # fmt: skip
    found = [(c.command, c.bypass, c.where) for c in shell_commands(spec)]
    assert found == [
        ("make", False, "action"),
        ("curl -s x", True, "condition"),
        ("kubectl get pods", False, "condition (llm context)"),
        ("echo fallback", False, "fallback"),
    ]


def test_admission_refuses_denied_even_with_i_know(tmp_path: Path) -> None:
    """A denied command in a job is refused at admission, --i-know or not."""
    policy = ShellPolicy.in_home(tmp_path)
    policy.deny("rm -rf *")
    with pytest.raises(Refused) as err:
        policy.check_job(job(ShellAction(command="rm -rf /srv"), i_know=True))
    assert err.value.reason == "policy"
    assert err.value.message.startswith("action:")


def test_admission_of_ask_commands_needs_i_know(tmp_path: Path) -> None:
    """An ``ask`` command is refused without --i-know and admitted with it."""
    policy = ShellPolicy.in_home(tmp_path)
    with pytest.raises(Refused, match="--i-know"):
        policy.check_job(job(ShellAction(command="terraform apply")))
    policy.check_job(job(ShellAction(command="terraform apply"), i_know=True))
    policy.check_job(job(NoopAction()))


def test_admission_refuses_bypass_without_operator_switch(tmp_path: Path) -> None:
    """``bypass_safety`` is refused unless the daemon allows bypasses."""
    action = ShellAction(command="terraform apply", bypass_safety=True)
    with pytest.raises(Refused, match="GNOMON_SHELL_ALLOW_BYPASS=true"):
        ShellPolicy.in_home(tmp_path).check_job(job(action))
    ShellPolicy.in_home(tmp_path, allow_bypass=True).check_job(job(action))
