"""gnomon.client against a real daemon: schedule, wait for and read a job from plain
synchronous code and from trio; errors come back as gnomon's classes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.daemon_proc import RealDaemon

from gnomon.client import AsyncClient, Client, job_spec
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import InvalidInput, NotFound
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.protocol_policy import PolicyCheckParams, PolicyVerdict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    running = RealDaemon.start(tmp_path_factory.mktemp("client-home"))
    yield running
    running.stop()


def test_a_script_schedules_waits_and_reads(daemon: RealDaemon) -> None:
    """Blocking calls: the job runs its shell command, ends completed, its output is read."""
    gn = Client(daemon.url, token=daemon.token)
    job = gn.create(job_spec("sync-hello", when="now", do="shell: echo hello from sync"))
    assert job.name == "sync-hello"
    done = gn.wait(job.id, timeout=30)
    assert (done.status, done.last_outcome) == (JobStatus.COMPLETED, Outcome.SUCCESS)
    assert [r.output.strip() for r in gn.logs("sync-hello")] == ["hello from sync"]
    assert gn.get(job.id).runs[0].exit_code == 0
    assert job.id in {j.id for j in gn.jobs(all=True)}


def test_the_home_is_found_without_a_url(daemon: RealDaemon) -> None:
    """With only the home given, its daemon.json and token file are used."""
    assert Client(home=str(daemon.home)).health().ok


async def test_trio_code_schedules_waits_and_reads(daemon: RealDaemon) -> None:
    """The async client over one connection, from a trio task."""
    async with AsyncClient.connect(daemon.url, token=daemon.token) as gn:
        job = await gn.create(job_spec("trio-hello", when="now", do="shell: echo from trio"))
        done = await gn.wait(job.id, timeout=30)
        assert done.status is JobStatus.COMPLETED
        detail = await gn.get("trio-hello")
        assert [r.output.strip() for r in detail.runs] == ["from trio"]
        fired = await gn.events(job=job.id, types=["job.fired"])
        assert [e.type for e in fired.events] == ["job.fired"]
        verdict = await gn.call(names.POLICY_CHECK, PolicyCheckParams(command="ls -l"))
        assert isinstance(verdict, PolicyVerdict)
        assert verdict.command == "ls -l"
        with pytest.raises(InvalidInput, match=r"unknown method 'job\.nope'"):
            await gn.call("job.nope")


async def test_waiting_on_a_later_job_times_out(daemon: RealDaemon) -> None:
    """wait() gives up after its timeout with TimeoutError; the job is untouched."""
    async with AsyncClient.connect(daemon.url, token=daemon.token) as gn:
        job = await gn.create(job_spec("later", when="in 1h", do="noop"))
        with pytest.raises(TimeoutError):
            await gn.wait(job.id, timeout=0.3)
        assert (await gn.get(job.id)).job.status is JobStatus.PENDING
        await gn.cancel(job.id)


def test_errors_are_gnomons_classes(daemon: RealDaemon, tmp_path: Path) -> None:
    """An unknown job is NotFound (exit code 3); a bad schedule is InvalidInput naming it."""
    gn = Client(daemon.url, token=daemon.token)
    with pytest.raises(NotFound) as missing:
        gn.get("no-such-job")
    assert missing.value.exit_code == 3
    with pytest.raises(InvalidInput) as bad:
        job_spec("x", when="someday", do="noop")
    assert bad.value.token == "someday"


def doc_examples() -> list[tuple[str, str]]:
    """docs/client.md's ``python`` blocks, each with the ``text`` block that follows it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text()
    pairs = []
    for chunk in text.split("```python\n")[1:]:
        code, rest = chunk.split("\n```", 1)
        printed = rest.split("```text\n", 1)[1].split("\n```", 1)[0]
        pairs.append((code, printed))
    return pairs


@pytest.mark.parametrize(("code", "printed"), doc_examples())
def test_the_docs_examples_print_what_they_say(daemon: RealDaemon, code: str, printed: str) -> None:
    """Each example of docs/client.md, run as a script with $GNOMON_URL/$GNOMON_TOKEN."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
    env.update(GNOMON_URL=daemon.url, GNOMON_TOKEN=daemon.token)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed + "\n"
