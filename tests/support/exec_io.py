"""Building real executors and evaluators for tests, and contexts to run them with."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import attrs

from gnomon.actors.exec.evaluator import Evaluators
from gnomon.actors.exec.executor import Executors
from gnomon.actors.exec.interface import PollContext, RunContext, SpawnHook
from gnomon.actors.exec.settings import ExecSettings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime.httpclient import open_client
from gnomon.runtime.model.enums import OwnerKind
from gnomon.runtime.model.job import Owner

FAKE_BIN = Path(__file__).resolve().parent / "bin"
OWNER = Owner(kind=OwnerKind.USER, id="tester")


@attrs.frozen
class IO:
    """One set of real executors/evaluators sharing a client and a policy."""

    executors: Executors
    evaluators: Evaluators
    policy: ShellPolicy
    settings: ExecSettings


@asynccontextmanager
async def real_io(home: Path, **settings: object) -> AsyncIterator[IO]:
    """Executors and evaluators over ``home`` (policy file, hooks) with ``settings``."""
    allow_bypass = bool(settings.get("shell_allow_bypass", False))
    cfg = ExecSettings(home=home, **settings)  # type: ignore[arg-type]
    policy = ShellPolicy.in_home(home, allow_bypass=allow_bypass)
    async with open_client(trust_env=False) as client:
        yield IO(
            executors=Executors(cfg, http=client, policy=policy),
            evaluators=Evaluators(cfg, http=client, policy=policy),
            policy=policy,
            settings=cfg,
        )


def fake_tools_env(tmp: Path, fixtures: Mapping[str, object]) -> dict[str, str]:
    """An environment whose PATH finds the fake CLIs first, answering from ``fixtures``."""
    fixture_file = tmp / "fixtures.json"
    fixture_file.write_text(json.dumps(fixtures))
    return {
        **os.environ,
        "PATH": f"{FAKE_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "GNOMON_FAKE_FIXTURES": str(fixture_file),
        "GNOMON_FAKE_LOG": str(tmp / "argv.jsonl"),
    }


def recorded_argv(tmp: Path) -> list[tuple[str, list[str]]]:
    """The ``(tool, argv)`` calls the fake CLIs recorded, in order."""
    log = tmp / "argv.jsonl"
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    return [(d["tool"], d["argv"]) for d in map(json.loads, lines)]


def run_ctx(
    *,
    timeout: float = 30.0,
    i_know: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    on_spawn: SpawnHook | None = None,
    job_id: str = "job-1",
) -> RunContext:
    """A run context for executor tests."""
    extra = {} if on_spawn is None else {"on_spawn": on_spawn}
    return RunContext(
        job_id=job_id,
        job_name="test-job",
        run_id="run-1",
        fire_time=datetime(2026, 4, 25, 14, 0, tzinfo=UTC),
        attempt=1,
        owner=OWNER,
        timeout=timeout,
        i_know=i_know,
        cwd=cwd,
        env=dict(env or {}),
        **extra,  # type: ignore[arg-type]
    )


def poll_ctx(
    *,
    timeout: float = 10.0,
    i_know: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> PollContext:
    """A poll context for evaluator tests."""
    return PollContext(
        job_id="job-1",
        job_name="test-job",
        owner=OWNER,
        poll=1,
        timeout=timeout,
        i_know=i_know,
        cwd=cwd,
        env=dict(env or {}),
    )


def pids_of_group(pgid: int) -> list[int]:
    """Live members of a process group (zombies excluded)."""
    from gnomon.runtime.procs import group_members

    return group_members(pgid)


def utc_now() -> datetime:
    return datetime.now(UTC)
