"""Breaker keys per target (docs/engine.md), derived without I/O."""

from __future__ import annotations

from gnomon.actors.core.breaker.keys import (
    MAX_KEY,
    action_key,
    condition_key,
    job_action_key,
    job_condition_key,
)
from gnomon.runtime.model.actions import (
    AgentTaskAction,
    HookAction,
    LlmPromptAction,
    NoopAction,
    ShellAction,
    SlashAction,
    WebhookAction,
)
from gnomon.runtime.model.conditions import (
    AllOf,
    AnyOf,
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
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import ManualSchedule


def test_http_keys_are_host_and_port() -> None:
    """Webhooks and HTTP conditions share the URL's host:port, default port by scheme."""
    assert action_key(WebhookAction(url="https://API.example.com/x?y=1")) == "api.example.com:443"
    assert condition_key(HttpCondition(url="http://localhost:8080/health")) == "localhost:8080"
    assert condition_key(HttpCondition(url="http://[::1]/")) == "[::1]:80"
    assert action_key(WebhookAction(url="not a url")) == "http:invalid"


def test_condition_keys_per_target() -> None:
    """tcp, docker, k8s, file and llm targets get their own prefixed keys."""
    assert condition_key(TcpCondition(host="DB", port=5432)) == "tcp:db:5432"
    assert condition_key(DockerCondition(name="web")) == "docker:web"
    assert condition_key(DockerCondition(name="web-", prefix=True)) == "docker:web-*"
    k8s = K8sCondition(kind="Deployment", namespace="prod", name="api")
    assert condition_key(k8s) == "k8s:deployment/prod/api"
    assert condition_key(K8sCondition(kind="pod", name="web-", prefix=True)) == "k8s:pod/web-*"
    assert condition_key(FileCondition(path="/srv/ready")) == "file:/srv/ready"
    assert condition_key(LlmCondition(question="ok?"), default_model="m1") == "llm:m1"


def test_shell_keys_are_the_normalised_command() -> None:
    """Shell actions and shell/regex conditions on the same command share a key."""
    key = action_key(ShellAction(command="pg_isready   -h db"))
    assert key == "shell:pg_isready -h db"
    assert condition_key(ShellCondition(command="pg_isready -h db")) == key
    assert condition_key(OutputCondition(command="pg_isready -h db", pattern="ok")) == key


def test_secrets_and_length_are_capped_in_keys() -> None:
    """Keys never carry a bearer token and stay under the label length cap."""
    key = action_key(ShellAction(command="curl -H 'Authorization: Bearer s3cr3tvalue' x"))
    assert "s3cr3tvalue" not in key
    long = action_key(ShellAction(command="echo " + "x" * 500))
    assert len(long) <= MAX_KEY
    assert "#" in long


def test_action_keys_for_the_rest() -> None:
    """LLM calls key on the model; agents, slash commands and hooks on their names."""
    assert action_key(LlmPromptAction(prompt="p", model="gpt-x")) == "llm:gpt-x"
    assert action_key(LlmPromptAction(prompt="p"), default_model="d") == "llm:d"
    assert action_key(AgentTaskAction(task="t", profile="ops")) == "agent:ops"
    assert action_key(SlashAction(command="/jobs cancel --tag a=b")) == "slash:jobs"
    assert action_key(HookAction(event="deploy")) == "hook:deploy"
    assert action_key(NoopAction()) == "noop"


def test_composites_share_a_single_child_key_or_hash() -> None:
    """not C keys as C; and/or key as their children's one key, else a stable hash."""
    a, b = TcpCondition(host="db", port=1), HttpCondition(url="http://x:2/")
    assert condition_key(Not(child=a)) == "tcp:db:1"
    assert condition_key(AllOf(children=(a, Not(child=a)))) == "tcp:db:1"
    mixed = condition_key(AnyOf(children=(a, b)))
    assert mixed.startswith("cond:")
    assert mixed == condition_key(AnyOf(children=(b, a)))


def test_job_breaker_overrides_derived_keys() -> None:
    """``--breaker KEY`` replaces the derived key for action and condition."""
    action = ShellAction(command="true")
    spec = JobSpec(name="j", schedule=ManualSchedule(), action=action, breaker="shared")
    plain = JobSpec(name="j", schedule=ManualSchedule(), action=action)
    assert job_action_key(spec, action) == "shared"
    assert job_condition_key(spec, TcpCondition(host="a", port=1)) == "shared"
    assert job_action_key(plain, action) == "shell:true"


def test_llm_parts_naming_no_model_are_keyed_on_the_model_they_call() -> None:
    """What the daemon keys an LLM call with (docs/actions-and-conditions.md, "Breaker
    keys"): a part that names its model is keyed on it; a part that names none calls the
    configured ``llm.model`` and is keyed on that (the daemon passes it as
    ``default_model``: the job's runs, its waits and ``jobs show`` alike), so it shares
    the breaker of the parts naming that model."""
    spec = JobSpec(name="ask", schedule=ManualSchedule(), action=LlmPromptAction(prompt="p"))
    configured = {"default_model": "gpt-4o-mini"}
    assert job_action_key(spec, LlmPromptAction(prompt="p"), **configured) == "llm:gpt-4o-mini"
    assert job_condition_key(spec, LlmCondition(question="up?"), **configured) == "llm:gpt-4o-mini"
    named = LlmPromptAction(prompt="p", model="gpt-4o-mini")
    assert job_action_key(spec, named) == "llm:gpt-4o-mini"
    assert job_condition_key(spec, LlmCondition(question="up?", model="m2")) == "llm:m2"
