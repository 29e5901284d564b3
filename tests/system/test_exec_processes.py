"""Shell, agent and hook executors with real child processes (real clock)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import trio
from support.exec_io import real_io, run_ctx

from gnomon.actors.exec.settings import AgentProfile
from gnomon.runtime import procs
from gnomon.runtime.model.actions import AgentTaskAction, HookAction, ShellAction
from gnomon.runtime.model.enums import Outcome

pytestmark = pytest.mark.slow


async def _spawned_group(spawned: list[tuple[int, int]], members: int) -> int:
    """Wait until the child has started and its group has ``members`` live processes."""
    for _ in range(1000):
        if spawned and len(procs.group_members(spawned[0][1])) >= members:
            return spawned[0][1]
        await trio.sleep(0.02)
    raise AssertionError("the process group never reached its size")


def _assert_reaped(pgid: int, within: float = 10.0) -> None:
    """``os.killpg(pgid, 0)`` fails once every member is dead and reaped (init is lazy)."""
    assert not procs.group_alive(pgid)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process group {pgid} still exists")


async def test_shell_success_env_cwd_and_spawn_hook(tmp_path: Path) -> None:
    """The command runs in the job's cwd with its env and gnomon's run variables."""
    spawned: list[tuple[int, int]] = []

    async def on_spawn(pid: int, pgid: int) -> None:
        spawned.append((pid, pgid))

    ctx = run_ctx(env={"GREETING": "hello"}, cwd=str(tmp_path), on_spawn=on_spawn)
    cmd = 'echo "$GREETING $GNOMON_JOB_ID $GNOMON_ATTEMPT"; pwd'
    async with real_io(tmp_path) as io:
        with trio.fail_after(10):
            result = await io.executors.run(ShellAction(command=cmd), ctx)
    assert result.outcome is Outcome.SUCCESS, result.error
    assert result.output.splitlines() == ["hello job-1 1", str(tmp_path)]
    assert spawned == [(result.pid, result.pgid)]
    assert result.pid == result.pgid


async def test_shell_exit_code_mismatch_fails_and_counts(tmp_path: Path) -> None:
    """An exit code other than expect_exit is a permanent failure counted by the breaker."""
    async with real_io(tmp_path) as io:
        with trio.fail_after(10):
            bad = await io.executors.run(ShellAction(command="exit 3"), run_ctx())
            ok = await io.executors.run(ShellAction(command="exit 3", expect_exit=3), run_ctx())
    assert bad.outcome is Outcome.FAILED
    assert bad.exit_code == 3
    assert bad.error == "exit 3, expected exit 0"
    assert bad.breaker_failure
    assert not bad.transient
    assert ok.outcome is Outcome.SUCCESS


async def test_cancel_kills_the_whole_group(tmp_path: Path) -> None:
    """Cancelling a run leaves no process of its group alive, grandchildren included."""
    spawned: list[tuple[int, int]] = []

    async def on_spawn(pid: int, pgid: int) -> None:
        spawned.append((pid, pgid))

    action = ShellAction(command="sleep 100 & sleep 100 & wait")
    async with real_io(tmp_path) as io:
        with trio.fail_after(15):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(io.executors.run, action, run_ctx(on_spawn=on_spawn))
                pgid = await _spawned_group(spawned, 3)
                nursery.cancel_scope.cancel()
    _assert_reaped(pgid)


async def test_timeout_kills_the_group_and_keeps_output(tmp_path: Path) -> None:
    """Running out of time kills the group and reports ``timeout`` with the output so far."""
    spawned: list[tuple[int, int]] = []

    async def on_spawn(pid: int, pgid: int) -> None:
        spawned.append((pid, pgid))

    action = ShellAction(command="echo started; sleep 100 & sleep 100 & wait")
    async with real_io(tmp_path) as io:
        with trio.fail_after(15):
            result = await io.executors.run(action, run_ctx(timeout=0.5, on_spawn=on_spawn))
    assert result.outcome is Outcome.TIMEOUT
    assert result.transient
    assert result.breaker_failure
    assert "started" in result.output
    assert not procs.group_alive(spawned[0][1])


async def test_sigterm_ignored_escalates_to_sigkill(tmp_path: Path) -> None:
    """A group that ignores SIGTERM is SIGKILLed after the grace period."""
    spawned: list[tuple[int, int]] = []

    async def on_spawn(pid: int, pgid: int) -> None:
        spawned.append((pid, pgid))

    action = ShellAction(command="trap '' TERM; sleep 100 & sleep 100 & wait", bypass_safety=True)
    async with real_io(tmp_path, kill_grace=0.3, shell_allow_bypass=True) as io:
        with trio.fail_after(15):
            result = await io.executors.run(action, run_ctx(timeout=0.5, on_spawn=on_spawn))
    assert result.outcome is Outcome.TIMEOUT
    assert not procs.group_alive(spawned[0][1])


async def test_leftover_background_processes_are_stopped(tmp_path: Path) -> None:
    """A command that exits leaving ``sleep &`` behind does not leave it running."""
    spawned: list[tuple[int, int]] = []

    async def on_spawn(pid: int, pgid: int) -> None:
        spawned.append((pid, pgid))

    async with real_io(tmp_path) as io:
        with trio.fail_after(15):
            result = await io.executors.run(
                ShellAction(command="sleep 100 & echo done"), run_ctx(on_spawn=on_spawn)
            )
    assert result.outcome is Outcome.SUCCESS
    assert result.output.strip() == "done"
    assert not procs.group_alive(spawned[0][1])


async def test_output_keeps_only_the_tail(tmp_path: Path) -> None:
    """More than 32 KiB of output keeps the last 32 KiB, marked as truncated."""
    cmd = "i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"
    async with real_io(tmp_path) as io:
        with trio.fail_after(15):
            result = await io.executors.run(ShellAction(command=cmd), run_ctx(i_know=True))
    assert result.outcome is Outcome.SUCCESS
    assert result.output.startswith("[… output truncated")
    assert result.output.rstrip().endswith("line-2999-xxxxxxxxxxxxxxxxxxxxxxxxxx")
    assert "line-0-" not in result.output
    assert len(result.output) <= 32 * 1024 + 100


async def test_secret_env_is_never_in_the_result(tmp_path: Path) -> None:
    """A secret set in the job's env and echoed, also split by chunking, is masked."""
    secret = "s3cr3t-value-0123456789"  # 23 characters, printed in two writes 0.1 s apart
    cmd = (
        'printf %s "${API_TOKEN%????????????}"; sleep 0.1; '
        'printf "%s\\n" "${API_TOKEN#???????????}"; echo "$API_TOKEN" >&2'
    )
    async with real_io(tmp_path, secret_env=("DAEMON_SECRET",)) as io:
        with trio.fail_after(10):
            result = await io.executors.run(
                ShellAction(command=cmd), run_ctx(env={"API_TOKEN": secret}, i_know=True)
            )
    assert result.outcome is Outcome.SUCCESS
    assert secret not in result.output
    assert "***" in result.output


async def test_daemon_secrets_are_not_inherited(tmp_path: Path) -> None:
    """Configured secret env variables of the daemon are neither inherited nor shown."""
    environ = {**os.environ, "DAEMON_SECRET": "daemon-only-secret"}
    async with real_io(tmp_path, secret_env=("DAEMON_SECRET",), environ=environ) as io:
        with trio.fail_after(10):
            result = await io.executors.run(
                ShellAction(command='echo "[$DAEMON_SECRET]"'), run_ctx()
            )
    assert result.output.strip() == "[]"


async def test_policy_is_rechecked_at_fire_time(tmp_path: Path) -> None:
    """A deny added after admission stops the next run, even with --i-know."""
    async with real_io(tmp_path) as io:
        io.policy.deny("touch *")
        marker = tmp_path / "ran"
        with trio.fail_after(10):
            result = await io.executors.run(
                ShellAction(command=f"touch {marker}"), run_ctx(i_know=True)
            )
    assert result.outcome is Outcome.FAILED
    assert not result.breaker_failure
    assert "deny" in result.error
    assert not marker.exists()


async def test_ask_command_without_i_know_is_refused_at_fire_time(tmp_path: Path) -> None:
    """An ``ask`` command runs only when the job carries --i-know."""
    marker = tmp_path / "ran"
    async with real_io(tmp_path) as io:
        with trio.fail_after(10):
            refused = await io.executors.run(ShellAction(command=f"touch {marker}"), run_ctx())
            assert not marker.exists()
            done = await io.executors.run(
                ShellAction(command=f"touch {marker}"), run_ctx(i_know=True)
            )
    assert refused.outcome is Outcome.FAILED
    assert "--i-know" in refused.error
    assert done.outcome is Outcome.SUCCESS
    assert marker.exists()


async def test_missing_cwd_is_a_permanent_failure(tmp_path: Path) -> None:
    """A working directory that does not exist fails without running anything."""
    async with real_io(tmp_path) as io:
        result = await io.executors.run(
            ShellAction(command="true"), run_ctx(cwd=str(tmp_path / "nope"))
        )
    assert result.outcome is Outcome.FAILED
    assert "working directory" in result.error


async def test_agent_gets_the_task_as_argument_or_stdin(tmp_path: Path) -> None:
    """The agent argv receives the task verbatim (no shell), or on stdin."""
    agents = {
        "default": AgentProfile(command=("/bin/sh", "-c", 'echo "arg:$1"', "agent", "{task}")),
        "reader": AgentProfile(command=("/bin/sh", "-c", 'echo "in:$(cat)"'), task_via="stdin"),
    }
    task = "deploy; touch pwned $(touch pwned)"
    async with real_io(tmp_path, agents=agents) as io:
        with trio.fail_after(10):
            by_arg = await io.executors.run(AgentTaskAction(task=task), run_ctx(cwd=str(tmp_path)))
            by_stdin = await io.executors.run(
                AgentTaskAction(task=task, profile="reader"), run_ctx(cwd=str(tmp_path))
            )
            missing = await io.executors.run(AgentTaskAction(task="x", profile="nope"), run_ctx())
    assert by_arg.output.strip() == f"arg:{task}"
    assert by_stdin.output.strip() == f"in:{task}"
    assert not (tmp_path / "pwned").exists()
    assert missing.outcome is Outcome.FAILED
    assert "no agent profile 'nope'" in missing.error


async def test_hooks_get_the_event_json_on_stdin(tmp_path: Path) -> None:
    """Configured hook lines and executables in hooks/EVENT/ all receive the event JSON."""
    hook_dir = tmp_path / "hooks" / "deploy"
    hook_dir.mkdir(parents=True)
    script = hook_dir / "10-record"
    script.write_text(f"#!/bin/sh\ncat > {tmp_path / 'event.json'}\necho recorded\n")
    script.chmod(0o755)
    hooks = {"deploy": ("cat >/dev/null; echo configured",), "broken": ("exit 4",)}
    async with real_io(tmp_path, hooks=hooks) as io:
        with trio.fail_after(10):
            ok = await io.executors.run(HookAction(event="deploy"), run_ctx())
            bad = await io.executors.run(HookAction(event="broken"), run_ctx())
            none = await io.executors.run(HookAction(event="quiet"), run_ctx())
    assert ok.outcome is Outcome.SUCCESS, ok.error
    assert "configured" in ok.output
    assert "recorded" in ok.output
    event = json.loads((tmp_path / "event.json").read_text())
    assert event["event"] == "deploy"
    assert event["job_id"] == "job-1"
    assert bad.outcome is Outcome.FAILED
    assert "1 of 1 hook(s) failed" in bad.error
    assert none.outcome is Outcome.SUCCESS
    assert "no hook configured" in none.output


async def test_orphan_identity_detects_live_gone_and_kills(tmp_path: Path) -> None:
    """A recorded group is found alive by pid and start time, killed, then reported gone."""
    async with trio.open_nursery() as nursery:
        proc = await trio.lowlevel.open_process(
            ["/bin/sh", "-c", "sleep 100 & sleep 100 & wait"], start_new_session=True
        )
        ident = procs.identify(proc.pid)
        assert procs.orphan_state(ident) is procs.OrphanState.ALIVE
        forged = procs.ProcessIdentity(
            pid=proc.pid, pgid=proc.pid, start_time=(ident.start_time or 0) + 1, boot_id=None
        )
        assert procs.orphan_state(forged) is procs.OrphanState.REUSED
        other_boot = procs.ProcessIdentity(
            pid=proc.pid, pgid=proc.pid, start_time=ident.start_time, boot_id="another-boot"
        )
        assert procs.orphan_state(other_boot) is procs.OrphanState.GONE
        with trio.fail_after(10):
            assert await procs.kill_orphan(ident, grace=1.0) is procs.OrphanState.ALIVE
            await proc.wait()
        assert proc.returncode == -signal.SIGTERM
        assert procs.orphan_state(ident) is not procs.OrphanState.ALIVE
        nursery.cancel_scope.cancel()
