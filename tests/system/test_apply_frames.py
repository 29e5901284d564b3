"""``gnomon apply -f`` with more jobs than one frame holds, against a real daemon whose
``gateway.max_message_bytes`` is lowered to 32 KiB (the splitting is the same at the
default 1 MiB, only 20 times the jobs): apply splits the specs into ``job.create_many``
calls that fit the limit ``system.hello`` names, every job is created, a second apply
leaves them all alone, and ``--atomic`` is refused (too_large, exit 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway.rawws import hourly_spec
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon

pytestmark = pytest.mark.slow
FRAME = 32 * 1024  # the daemon's gateway.max_message_bytes here
COUNT = 105  # about 73 kB of specs: over two frames, under the 4-frame hard cap
FAR = "2030-01-01T00:00:00Z"  # absolute: resolved the same at each apply
SETTINGS = {
    "GNOMON_GATEWAY_MAX_MESSAGE_BYTES": str(FRAME),
    "GNOMON_LIMITS_OWNER_RPS": "100000",
    "GNOMON_LIMITS_OWNER_BURST": "100000",
    "GNOMON_LIMITS_GLOBAL_RPS": "100000",
    "GNOMON_LIMITS_GLOBAL_BURST": "100000",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """A daemon whose rate limits admit all the jobs at once and whose frames are at most
    ``FRAME`` bytes."""
    home = tmp_path_factory.mktemp("apply-frames") / "home"
    running = RealDaemon.start(home, env=cli_env(home, **SETTINGS))
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


def jobs_file(path: Path, prefix: str) -> Path:
    """``COUNT`` hourly jobs; every tenth depends on the one before it (refs by name)."""
    jobs: list[dict[str, object]] = []
    for i in range(COUNT):
        job: dict[str, object] = {"name": f"{prefix}-{i:04d}", "do": "noop", "every": "1h"}
        if i % 10 == 9:  # a dependency must end: the target fires once, at a fixed time
            jobs[-1] = {"name": f"{prefix}-{i - 1:04d}", "do": "noop", "at": FAR}
            job["depends_on"] = [f"{prefix}-{i - 1:04d}"]
        jobs.append(job)
    path.write_text(json.dumps({"jobs": jobs}))
    return path


def apply(daemon: RealDaemon, path: Path, *flags: str) -> Result:
    return gnomon(daemon.home, "apply", "-f", str(path), *flags, timeout=300)


def names_listed(daemon: RealDaemon, prefix: str) -> set[str]:
    listed = gnomon(daemon.home, "jobs", "--all", "--name", prefix, "--json", timeout=120)
    assert listed.code == 0, listed.err
    return {job["name"] for job in listed.json()}


def test_a_file_larger_than_a_frame_is_applied_in_several_calls(
    daemon: RealDaemon, tmp_path: Path
) -> None:
    """``COUNT`` jobs (over two frames of specs; every tenth depends on the one before
    it) are previewed by --dry-run without a false refusal, created, listed, then left
    unchanged."""
    path = jobs_file(tmp_path / "jobs.json", "fr")
    wire_bytes = sum(len(json.dumps(hourly_spec(f"fr-{i:04d}"))) for i in range(COUNT))
    assert wire_bytes > 2 * FRAME  # the premise: it takes at least three calls
    dry = apply(daemon, path, "--dry-run")
    assert dry.code == 0, dry.err[-2000:]
    assert (
        dry.out.splitlines()[-1]
        == f"would be: {COUNT} created, 0 configured, 0 unchanged, 0 refused"
    )
    first = apply(daemon, path)
    assert first.code == 0, first.err[-2000:]
    assert first.out.splitlines()[-1] == f"{COUNT} created, 0 configured, 0 unchanged, 0 refused"
    assert first.out.splitlines()[0].startswith("job/fr-0000 created (id ")
    assert names_listed(daemon, "fr-") == {f"fr-{i:04d}" for i in range(COUNT)}
    again = apply(daemon, path, "--json")
    assert again.code == 0, again.err[-2000:]
    answer = again.json()
    assert (answer["unchanged"], answer["created"], answer["configured"]) == (COUNT, 0, 0)
    assert [j["name"] for j in answer["jobs"]] == [f"fr-{i:04d}" for i in range(COUNT)]


def test_atomic_refuses_a_file_that_needs_several_calls(daemon: RealDaemon, tmp_path: Path) -> None:
    """--atomic cannot span calls: exit 4, too_large naming the size, nothing created."""
    path = jobs_file(tmp_path / "atomic.json", "at")
    refused = apply(daemon, path, "--atomic", "--json")
    assert refused.code == 4, refused.err
    error = json.loads(refused.err.strip().splitlines()[-1])["error"]
    assert (error["type"], error["reason"]) == ("Refused", "too_large")
    assert error["message"].startswith(f"--atomic needs one call, but the {COUNT} jobs take ")
    assert f"({FRAME} bytes, gateway.max_message_bytes)" in error["message"]  # system.hello's
    assert names_listed(daemon, "at-") == set()
