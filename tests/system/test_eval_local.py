"""Condition evaluators on this machine: fake docker/kubectl/terraform, files, commands."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import trio
from support.exec_io import fake_tools_env, poll_ctx, real_io, recorded_argv, run_ctx

from gnomon.runtime.model.actions import ShellAction
from gnomon.runtime.model.conditions import (
    AllOf,
    AnyOf,
    DockerCondition,
    FileCondition,
    K8sCondition,
    Not,
    OutputCondition,
    ShellCondition,
    TcpCondition,
)
from gnomon.runtime.model.enums import Outcome

pytestmark = pytest.mark.slow

INJECTIONS = ("x; touch pwned", "$(touch pwned)", "`touch pwned`", "x\ntouch pwned")


def _k8s_json(name: str, **conditions: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]},
    }


def _state(running: bool, health: str | None = None) -> str:
    state: dict[str, object] = {"Running": running, "Status": "running" if running else "exited"}
    if health is not None:
        state["Health"] = {"Status": health}
    return json.dumps(state)


async def test_k8s_single_resource_through_argv(tmp_path: Path) -> None:
    """A single pod is read with ``kubectl get pod NAME -n NS -o json`` (bug 16.1.7)."""
    fixtures = {
        "kubectl": [
            {"when": ["web-0"], "stdout": json.dumps(_k8s_json("web-0", Ready="True"))},
            {"when": ["api"], "stdout": json.dumps(_k8s_json("api", Available="False"))},
        ]
    }
    env = fake_tools_env(tmp_path, fixtures)
    async with real_io(tmp_path, environ=env) as io:
        with trio.fail_after(10):
            pod = await io.evaluators.evaluate(
                K8sCondition(kind="pod", namespace="prod", name="web-0"), poll_ctx()
            )
            dep = await io.evaluators.evaluate(
                K8sCondition(kind="deployment", name="api"), poll_ctx()
            )
    assert pod.value is True, pod.summary
    assert dep.value is False
    assert "Available" in dep.summary
    assert recorded_argv(tmp_path) == [
        ("kubectl", ["get", "pod", "web-0", "-n", "prod", "-o", "json"]),
        ("kubectl", ["get", "deployment", "api", "-o", "json"]),
    ]


async def test_k8s_prefix_not_found_and_unreachable(tmp_path: Path) -> None:
    """Prefix mode needs every match ready; NotFound is false; an unreachable API errs."""
    items = [_k8s_json("web-1", Ready="True"), _k8s_json("web-2", Ready="False"), _k8s_json("db")]
    fixtures = {
        "kubectl": [
            {"when": ["pods"], "stdout": json.dumps({"items": items})},
            {"when": ["jobs"], "stdout": json.dumps({"items": [_k8s_json("web-1", Ready="True")]})},
            {"when": ["ghost"], "stderr": 'Error from server (NotFound): pods "ghost"', "exit": 1},
            {"when": ["down"], "exit": 1,
             "stderr": "Unable to connect to the server: connection refused"},
        ]
    }  # fmt: skip
    env = fake_tools_env(tmp_path, fixtures)
    async with real_io(tmp_path, environ=env, kubeconfig="/tmp/kc") as io:
        ev = io.evaluators
        with trio.fail_after(10):
            some = await ev.evaluate(
                K8sCondition(kind="pods", name="web-", prefix=True), poll_ctx()
            )
            all_ = await ev.evaluate(
                K8sCondition(kind="jobs", name="web-", prefix=True), poll_ctx()
            )
            ghost = await ev.evaluate(K8sCondition(kind="pod", name="ghost"), poll_ctx())
            down = await ev.evaluate(K8sCondition(kind="pod", name="down"), poll_ctx())
    assert some.value is False
    assert "web-2" in some.summary
    assert all_.value is True
    assert ghost.value is False
    assert down.value is None
    assert down.transient
    assert down.breaker_failure
    assert recorded_argv(tmp_path)[0][1][:2] == ["--kubeconfig", "/tmp/kc"]


async def test_docker_running_healthy_and_prefix(tmp_path: Path) -> None:
    """Containers are inspected with argv; healthy needs a health check; prefixes list first."""
    fixtures = {
        "docker": [
            {"when": ["ps"], "stdout": "web-1\nweb-2\ndb\n"},
            {"when": ["web-1", "web-2"],
             "stdout": f"/web-1\t{_state(True)}\n/web-2\t{_state(True)}\n"},
            {"when": ["db"], "stdout": f"/db\t{_state(True, 'starting')}\n"},
            {"when": ["plain"], "stdout": f"/plain\t{_state(True)}\n"},
            {"when": ["gone"], "stderr": "Error: No such container: gone", "exit": 1},
        ]
    }  # fmt: skip
    env = fake_tools_env(tmp_path, fixtures)
    async with real_io(tmp_path, environ=env) as io:
        ev = io.evaluators
        with trio.fail_after(10):
            web = await ev.evaluate(DockerCondition(name="web-", prefix=True), poll_ctx())
            db = await ev.evaluate(DockerCondition(name="db", state="healthy"), poll_ctx())
            plain = await ev.evaluate(DockerCondition(name="plain", state="healthy"), poll_ctx())
            gone = await ev.evaluate(DockerCondition(name="gone"), poll_ctx())
    assert web.value is True, web.summary
    assert db.value is False
    assert "starting" in db.summary
    assert plain.value is None
    assert not plain.transient
    assert gone.value is False
    fmt = "{{.Name}}\t{{json .State}}"
    assert recorded_argv(tmp_path)[1] == (
        "docker",
        ["inspect", "--type", "container", "--format", fmt, "web-1", "web-2"],
    )


async def test_injection_attempts_never_execute(tmp_path: Path) -> None:
    """Names, namespaces, hosts and paths carrying shell syntax run nothing."""
    env = fake_tools_env(tmp_path, {})
    conditions = [
        c
        for bad in INJECTIONS
        for c in (
            DockerCondition(name=bad),
            DockerCondition(name=bad, prefix=True),
            K8sCondition(kind="pod", name=bad),
            K8sCondition(kind=bad, name="web"),
            K8sCondition(kind="pod", name="web", namespace=bad),
            TcpCondition(host=bad, port=80),
            FileCondition(path=bad),
            FileCondition(path=str(tmp_path / bad)),
        )
    ]
    async with real_io(tmp_path, environ=env) as io:
        with trio.fail_after(20):
            verdicts = [
                await io.evaluators.evaluate(c, poll_ctx(cwd=str(tmp_path))) for c in conditions
            ]
    assert not (tmp_path / "pwned").exists()
    assert all(v.value is not True for v in verdicts)
    assert recorded_argv(tmp_path) == []  # invalid names never reach the CLIs


async def test_terraform_runs_with_exact_argv_once_confirmed(tmp_path: Path) -> None:
    """An ``ask`` command runs with --i-know, and the program sees its arguments verbatim."""
    env = fake_tools_env(
        tmp_path, {"terraform": [{"when": ["apply"], "stdout": "Apply complete!"}]}
    )
    action = ShellAction(command="terraform apply -auto-approve -var 'msg=a b'")
    async with real_io(tmp_path, environ=env) as io:
        with trio.fail_after(10):
            refused = await io.executors.run(action, run_ctx())
            ran = await io.executors.run(action, run_ctx(i_know=True))
    assert refused.outcome is Outcome.FAILED
    assert ran.outcome is Outcome.SUCCESS
    assert "Apply complete!" in ran.output
    assert recorded_argv(tmp_path) == [("terraform", ["apply", "-auto-approve", "-var", "msg=a b"])]


async def test_missing_cli_binary_is_permanent(tmp_path: Path) -> None:
    """A docker binary that does not exist is a permanent error."""
    async with real_io(tmp_path, docker_bin=str(tmp_path / "no-docker")) as io:
        verdict = await io.evaluators.evaluate(DockerCondition(name="web"), poll_ctx())
    assert verdict.value is None
    assert not verdict.transient


async def test_file_condition_size_and_stability(tmp_path: Path) -> None:
    """Existence, minimum size and an unchanged mtime are checked; relative to cwd."""
    (tmp_path / "ready").write_text("12345")
    old = tmp_path / "old"
    old.write_text("x")
    os.utime(old, (time.time() - 60, time.time() - 60))
    ctx = poll_ctx(cwd=str(tmp_path))
    async with real_io(tmp_path) as io:
        ev = io.evaluators
        with trio.fail_after(10):
            exists = await ev.evaluate(FileCondition(path="ready"), ctx)
            small = await ev.evaluate(FileCondition(path="ready", min_size=10), ctx)
            missing = await ev.evaluate(FileCondition(path="nope"), ctx)
            fresh = await ev.evaluate(FileCondition(path="ready", stable_for=30), ctx)
            stable = await ev.evaluate(FileCondition(path=str(old), stable_for=30), ctx)
    assert exists.value is True
    assert small.value is False
    assert missing.value is False
    assert fresh.value is False
    assert stable.value is True


async def test_shell_and_regex_conditions(tmp_path: Path) -> None:
    """Exit codes and output matches decide; missing commands and bad regexes are errors."""
    ctx = poll_ctx(env={"STATE": "green"}, i_know=True)
    async with real_io(tmp_path) as io:
        ev = io.evaluators
        with trio.fail_after(10):
            true = await ev.evaluate(ShellCondition(command="test -n x"), ctx)
            false = await ev.evaluate(ShellCondition(command="test -z x"), ctx)
            missing = await ev.evaluate(ShellCondition(command="no-such-cmd-xyz"), ctx)
            out = await ev.evaluate(OutputCondition(command='echo "$STATE"', pattern="^gre+n"), ctx)
            err = await ev.evaluate(
                OutputCondition(command="echo oops >&2", pattern="oops", source="stderr"), ctx
            )
            not_out = await ev.evaluate(
                OutputCondition(command="echo oops >&2", pattern="oops"), ctx
            )
            bad_re = await ev.evaluate(OutputCondition(command="echo", pattern="("), ctx)
    assert true.value is True
    assert false.value is False
    assert missing.value is None
    assert not missing.transient
    assert out.value is True
    assert err.value is True
    assert not_out.value is False
    assert bad_re.value is None


async def test_condition_command_timeout_kills_it(tmp_path: Path) -> None:
    """A condition command that outlives the poll timeout is killed, a transient error."""
    async with real_io(tmp_path) as io:
        with trio.fail_after(10):
            verdict = await io.evaluators.evaluate(
                ShellCondition(command="sleep 30"), poll_ctx(timeout=0.3)
            )
    assert verdict.value is None
    assert verdict.transient
    assert verdict.breaker_failure


async def test_condition_policy_refusal_is_permanent(tmp_path: Path) -> None:
    """A condition command the policy refuses is a permanent error naming the way out."""
    async with real_io(tmp_path) as io:
        verdict = await io.evaluators.evaluate(ShellCondition(command="make check"), poll_ctx())
    assert verdict.value is None
    assert not verdict.transient
    assert "--i-know" in verdict.summary


async def test_composites_over_real_leaves(tmp_path: Path) -> None:
    """and/or/not combine real verdicts three-valuedly; not of an error stays an error."""
    t, f = ShellCondition(command="true"), ShellCondition(command="false")
    err = FileCondition(path=str(tmp_path / "x\x00y"))
    async with real_io(tmp_path) as io:
        ev = io.evaluators
        with trio.fail_after(10):
            both = await ev.evaluate(AllOf(children=(t, Not(child=f))), poll_ctx())
            short = await ev.evaluate(AllOf(children=(f, err)), poll_ctx())
            either = await ev.evaluate(AnyOf(children=(err, t)), poll_ctx())
            negated = await ev.evaluate(Not(child=err), poll_ctx())
    assert both.value is True
    assert short.value is False
    assert either.value is True
    assert negated.value is None
    assert not negated.transient


async def test_tcp_refused_is_false_not_a_breaker_failure(tmp_path: Path) -> None:
    """A port nobody listens on makes a tcp:// condition false (what a wait for a port
    expects), never an error that would trip the target's breaker; a listening one is true."""
    listener = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listener[0].socket.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    async with real_io(tmp_path) as io:
        with trio.fail_after(20):
            up = await io.evaluators.evaluate(TcpCondition(host="127.0.0.1", port=port), poll_ctx())
            down = await io.evaluators.evaluate(
                TcpCondition(host="127.0.0.1", port=refused_port), poll_ctx()
            )
    closed.close()
    await listener[0].aclose()
    assert up.value is True
    assert down.value is False
    assert not down.breaker_failure
    assert "connection refused" in down.summary


async def test_tcp_by_name_and_by_ipv6_address(tmp_path: Path) -> None:
    """A name goes through resolution (``localhost``: connected where something listens,
    false where nothing does, on every address it resolves to); an IPv6 address is
    connected to directly, brackets and all, where the machine has ``::1``."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    async with real_io(tmp_path) as io:
        with trio.fail_after(20):
            by_name = await io.evaluators.evaluate(
                TcpCondition(host="localhost", port=port), poll_ctx()
            )
            by_name_down = await io.evaluators.evaluate(
                TcpCondition(host="localhost", port=refused_port), poll_ctx()
            )
            v6 = None
            if socket.has_ipv6:
                try:
                    six = (await trio.open_tcp_listeners(0, host="::1"))[0]
                except OSError:
                    six = None
                if six is not None:
                    where = TcpCondition(host="[::1]", port=six.socket.getsockname()[1])
                    v6 = await io.evaluators.evaluate(where, poll_ctx())
                    await six.aclose()
    closed.close()
    await listener.aclose()
    assert by_name.value is True
    assert by_name_down.value is False
    assert "connection refused" in by_name_down.summary
    if v6 is not None:
        assert v6.value is True, v6.summary
