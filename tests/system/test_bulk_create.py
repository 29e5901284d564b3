"""``job.create_many`` against a real daemon over a raw WebSocket — mixed valid and invalid
specs, token limits across one call and across concurrent calls, the rate limit charged
once per call — and ``gnomon apply -f`` through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio
from gateway.rawws import connect, error_of
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon

from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.model import wire

pytestmark = pytest.mark.slow
OWNER_BURST = 20
LIMITS = {
    "GNOMON_LIMITS_OWNER_RPS": "1",
    "GNOMON_LIMITS_OWNER_BURST": str(OWNER_BURST),
    "GNOMON_LIMITS_GLOBAL_RPS": "1000",  # each test's owner bucket alone decides
    "GNOMON_LIMITS_GLOBAL_BURST": "1000",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """One daemon for the module (owners limited to 1 job/s, burst 20; no global limit to
    speak of)."""
    home = tmp_path_factory.mktemp("bulk") / "home"
    running = RealDaemon.start(home, env=cli_env(home, **LIMITS))
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


def spec(name: str, **options: Any) -> dict[str, Any]:
    """A spec in wire form, built as the CLI builds it (hourly, so nothing fires)."""
    options = {"name": name, "do": "noop", "every": "1h", **options}
    return dict(wire.unstructure(spec_from_options(options, now=datetime.now(UTC), tz="UTC")))


def agent_token(daemon: RealDaemon, name: str, *flags: str) -> str:
    made = gnomon(daemon.home, "token", "create", "--name", name, "--agent", *flags, "--json")
    assert made.code == 0, made.err
    return str(made.json()["token"])


async def many(daemon: RealDaemon, specs: list[dict[str, Any]], token: str = "", **kw: Any) -> Any:
    async with connect(daemon, token=token) as conn:
        return await conn.call("job.create_many", {"specs": specs, **kw})


async def test_mixed_valid_and_invalid_specs(daemon: RealDaemon) -> None:
    """Each spec gets its own answer: the valid ones are created (id, name, next fire), the
    others are refused with their own JSON-RPC error and do not sink the call."""
    when_ready = {**spec("mx-ready"), "schedule": {"type": "when_ready"}}
    specs = [
        spec("mx-ok-1", every=None, **{"in": "2h"}),
        spec("mx-policy", do="shell: terraform apply"),  # the policy asks: no --i-know
        spec("mx-ok-1"),
        when_ready,
        spec("mx-dep", depends_on=["mx-missing"]),
        spec("mx-ok-2", depends_on=["mx-ok-1"], every=None, **{"in": "1h"}),
    ]
    answer = (await many(daemon, specs))["result"]
    results = [(j["name"], j["result"]) for j in answer["jobs"]]
    assert results == [
        ("mx-ok-1", "created"),
        ("mx-policy", "refused"),
        ("mx-ok-1", "refused"),
        ("mx-ready", "refused"),
        ("mx-dep", "refused"),
        ("mx-ok-2", "created"),
    ]
    assert (answer["created"], answer["refused"]) == (2, 4)
    codes = [(j["error"] or {}).get("code") for j in answer["jobs"]]
    assert codes == [None, -32004, -32002, -32602, -32001, None]
    assert answer["jobs"][1]["error"]["data"]["reason"] == "policy"
    ok = answer["jobs"][0]
    assert set(ok) == {"name", "result", "id", "next_fire_at", "hold", "error"}
    assert ok["next_fire_at"] is not None
    assert answer["jobs"][5]["hold"] == "blocked by mx-ok-1"
    async with connect(daemon) as conn:
        got = await conn.result("job.get", {"ref": "mx-ok-2"})
        assert got["job"]["depends_on"] == ["mx-ok-1"]
        missing = await conn.call("job.get", {"ref": "mx-policy"})
        error_of(missing, -32001)


async def test_a_malformed_spec_fails_the_whole_call(daemon: RealDaemon) -> None:
    """A spec that is not a JobSpec at all is invalid params for the call, naming it."""
    bad = {**spec("mf-2"), "budget": {"max_retries": "three"}}
    err = error_of(await many(daemon, [spec("mf-1"), bad]), -32602)
    assert any("$.specs[1].budget.max_retries" in d for d in err["data"]["details"])
    async with connect(daemon) as conn:
        error_of(await conn.call("job.get", {"ref": "mf-1"}), -32001)


async def test_token_limits_hold_across_a_call_and_concurrent_calls(daemon: RealDaemon) -> None:
    """An agent token's max_jobs counts the new jobs of one call, and two calls at once
    from two connections never pass together on the same count; its shell limit refuses
    the shell spec alone."""
    secret = agent_token(daemon, "bulk-bot", "--max-jobs", "4")
    first = await many(daemon, [spec("tk-1"), spec("tk-sh", do="shell: ls"), spec("tk-2")], secret)
    assert [j["result"] for j in first["result"]["jobs"]] == ["created", "refused", "created"]
    assert first["result"]["jobs"][1]["error"]["data"]["reason"] == "shell"
    answers: list[Any] = []

    async def call(prefix: str) -> None:
        answers.append(await many(daemon, [spec(f"{prefix}-{i}") for i in range(3)], secret))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "tk-a")
        nursery.start_soon(call, "tk-b")
    jobs = [j for a in answers for j in a["result"]["jobs"]]
    assert sum(j["result"] == "created" for j in jobs) == 2
    refused = [j["error"]["data"]["reason"] for j in jobs if j["result"] == "refused"]
    assert refused == ["max_jobs"] * 4
    async with connect(daemon, token=secret) as conn:
        listed = (await conn.result("job.list", {}))["jobs"]
    assert len(listed) == 4


async def test_the_rate_limit_is_charged_once_for_a_call(daemon: RealDaemon) -> None:
    """A call of 15 takes 15 of an owner's 20 tokens at once; a call of 10 right after is
    refused whole (nothing of it created, nothing charged), one of 3 still passes; more
    specs than the burst can never pass."""
    secret = agent_token(daemon, "bulk-rate")
    done = await many(daemon, [spec(f"rt-{i}") for i in range(15)], secret)
    assert done["result"]["created"] == 15
    refused = error_of(await many(daemon, [spec(f"rt2-{i}") for i in range(10)], secret), -32004)
    assert refused["data"]["reason"] == "rate_limited"
    assert refused["data"]["retry_after"] > 0
    small = await many(daemon, [spec(f"rt3-{i}") for i in range(3)], secret)
    assert small["result"]["created"] == 3
    huge = error_of(await many(daemon, [spec(f"rt4-{i}") for i in range(21)], secret), -32004)
    assert "more than the rate limit's burst of 20" in huge["message"]
    async with connect(daemon, token=secret) as conn:
        names = {j["name"] for j in (await conn.result("job.list", {}))["jobs"]}
    assert not any(n.startswith(("rt2-", "rt4-")) for n in names)
    assert len(names) == 18


APPLY_FILE = """\
jobs:
  - name: ap-nightly
    cron: "0 3 * * *"
    tz: UTC
    do: noop
    tags: {team: ops}
  - name: ap-report
    every: 1h
    do: noop
    description: v1
"""


def apply(daemon: RealDaemon, path: Path, *flags: str) -> Result:
    return gnomon(daemon.home, "apply", "-f", str(path), *flags)


def test_apply_creates_then_leaves_alone_then_updates(daemon: RealDaemon, tmp_path: Path) -> None:
    """``gnomon apply -f``: the first run creates, a second changes nothing, an edit is
    shown by --dry-run without being made, then configured in place (same id); a refused
    job exits 4 without stopping the others."""
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(APPLY_FILE)
    first = apply(daemon, jobs)
    assert first.code == 0, first.err
    assert first.out.splitlines()[-1] == "2 created, 0 configured, 0 unchanged, 0 refused"
    assert first.out.startswith("job/ap-nightly created (id ")
    again = apply(daemon, jobs, "--json")
    assert [(j["name"], j["result"]) for j in again.json()["jobs"]] == [
        ("ap-nightly", "unchanged"),
        ("ap-report", "unchanged"),
    ]
    ids = {j["name"]: j["id"] for j in again.json()["jobs"]}
    jobs.write_text(APPLY_FILE.replace("description: v1", "description: v2"))
    dry = apply(daemon, jobs, "--dry-run")
    assert dry.code == 0, dry.err
    assert "job/ap-report configured (dry run)" in dry.out
    assert dry.out.splitlines()[-1] == "would be: 0 created, 1 configured, 1 unchanged, 0 refused"
    shown = gnomon(daemon.home, "jobs", "show", "ap-report", "--json").json()
    assert shown["description"] == "v1"
    done = apply(daemon, jobs)
    assert done.out.splitlines()[-1] == "0 created, 1 configured, 1 unchanged, 0 refused"
    shown = gnomon(daemon.home, "jobs", "show", "ap-report", "--json").json()
    assert (shown["id"], shown["description"]) == (ids["ap-report"], "v2")
    jobs.write_text(APPLY_FILE + "  - {name: ap-shell, do: 'shell: terraform apply'}\n")
    refused = apply(daemon, jobs)
    assert refused.code == 4
    assert "job/ap-shell refused: action: shell command needs confirmation" in refused.out
    assert refused.out.splitlines()[-1] == "0 created, 1 configured, 1 unchanged, 1 refused"


def test_apply_goes_through_the_rate_limit_in_smaller_calls(
    daemon: RealDaemon, tmp_path: Path
) -> None:
    """25 jobs for an owner whose burst is 20: one call can never pass, so apply halves it
    and waits out the refill the daemon names, and every job is created."""
    secret = agent_token(daemon, "bulk-apply")
    jobs = tmp_path / "many.json"
    jobs.write_text(
        json.dumps([{"name": f"ra-{i}", "every": "1h", "do": "noop"} for i in range(25)])
    )
    env = cli_env(daemon.home, GNOMON_TOKEN=secret)
    done = gnomon(daemon.home, "apply", "-f", str(jobs), env=env, timeout=120)
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1] == "25 created, 0 configured, 0 unchanged, 0 refused"
    assert "rate limited: waiting" in done.err
