"""Agent tokens against a real daemon through the real CLI: limits, no escalation, the
inbox, TTL expiry and the kill switch (issue 10's acceptance, docs/agents.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import trio
from gateway.rawws import connect
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon
from support.local_http import LocalHTTPServer, OpenAIStub

from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.model import wire

pytestmark = pytest.mark.slow
OWNER_BURST = 20
LIMITS = {"GNOMON_LIMITS_OWNER_RPS": "1", "GNOMON_LIMITS_OWNER_BURST": str(OWNER_BURST)}


@pytest.fixture(scope="module")
def llm() -> Iterator[LocalHTTPServer]:
    """An OpenAI-compatible stub that never answers (recipe 7's hanging model)."""
    with LocalHTTPServer(OpenAIStub(hang=True)) as server:
        yield server


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, llm: LocalHTTPServer) -> Iterator[RealDaemon]:
    """One daemon for the module (owners limited to 1 job/s, burst 20); it must stop
    cleanly."""
    home = tmp_path_factory.mktemp("agents") / "home"
    env = cli_env(home, GNOMON_LLM_BASE_URL=llm.url + "/v1", **LIMITS)
    running = RealDaemon.start(home, env=env)
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


def admin(daemon: RealDaemon, *args: str) -> Result:
    return gnomon(daemon.home, *args)


def new_token(daemon: RealDaemon, name: str, *flags: str) -> str:
    """An agent token's secret, made with ``gnomon token create --agent``."""
    made = admin(daemon, "token", "create", "--name", name, "--agent", *flags, "--json")
    assert made.code == 0, made.err
    return str(made.json()["token"])


def as_agent(daemon: RealDaemon, token: str, *args: str) -> Result:
    return gnomon(daemon.home, *args, env=cli_env(daemon.home, GNOMON_TOKEN=token))


async def rpc(daemon: RealDaemon, method: str, params: Any, token: str = "") -> Any:
    """One JSON-RPC call's result (the admin token unless ``token``)."""
    async with connect(daemon, token=token) as conn:
        return await conn.result(method, params)


async def job(daemon: RealDaemon, ref: str) -> dict[str, Any]:
    return dict((await rpc(daemon, "job.get", {"ref": ref}))["job"])


async def until(check: Any, timeout: float = 60.0) -> Any:
    """Await ``check()`` until it returns something truthy (the bound is on a hang only)."""
    with trio.fail_after(timeout):
        while True:
            value = await check()
            if value:
                return value
            await trio.sleep(0.05)


def test_token_create_list_revoke(daemon: RealDaemon) -> None:
    """A created token works at once, is listed without its secret, and fails once revoked."""
    secret = new_token(daemon, "lister")
    listed = admin(daemon, "token", "list", "--json").json()
    mine = next(t for t in listed if t["name"] == "lister")
    assert (mine["owner"], mine["limits"]["shell"]) == ("agent:lister", False)
    assert secret not in json.dumps(listed)
    assert as_agent(daemon, secret, "jobs", "list").code == 0
    assert admin(daemon, "token", "revoke", mine["id"]).code == 0
    refused = as_agent(daemon, secret, "jobs", "list")
    assert refused.code == 4
    assert "unauthorized" in refused.err


def spec(name: str, **options: Any) -> dict[str, Any]:
    """A job spec in wire form, built from CLI-style options as the CLI builds it."""
    built = spec_from_options({"name": name, **options}, now=datetime.now(UTC), tz="UTC")
    return dict(wire.unstructure(built))


async def refusal(daemon: RealDaemon, token: str, job: dict[str, Any]) -> dict[str, Any]:
    """The JSON-RPC error of ``job.create`` for ``job`` under ``token``."""
    async with connect(daemon, token=token) as conn:
        answer = await conn.call("job.create", {"spec": job})
    assert "error" in answer, answer
    return dict(answer["error"])


async def test_agent_without_shell_cannot_reach_a_shell_any_way(daemon: RealDaemon) -> None:
    """Directly (exit 4), through slash_cmd, a trigger template, a fallback or agent_task
    (-32004): each refusal names the shell limit."""
    secret = new_token(daemon, "noshell")
    direct = as_agent(daemon, secret, "schedule", "direct", "--do", "shell: echo pwned")
    assert (direct.code, "token limit shell" in direct.err) == (4, True), direct.err
    template = admin(daemon, "schedule", "tpl-shell", "--when", "manual", "--do", "shell: true")
    assert template.code == 0, template.err
    attempts = [
        spec("slash", do='/schedule inner --do "shell: echo pwned"'),
        spec("slash2", do="/wait --until tcp://127.0.0.1:9 --then 'sh: echo pwned'"),
        spec("viatpl", every="1h", do="noop", triggers=["tpl-shell"]),
        spec(
            "fallback",
            when="when-ready",
            until="tcp://127.0.0.1:9",
            do="noop",
            on_timeout="fallback",
            fallback="shell: echo pwned",
        ),
        spec("agentic", do="agent: open a shell"),
        spec("cond", when="when-ready", until="shell: echo pwned", do="noop"),
    ]
    for attempt in attempts:
        error = await refusal(daemon, secret, attempt)
        assert (error["code"], error["data"]["reason"]) == (-32004, "shell"), error
        assert "token limit shell" in error["message"]
    assert admin(daemon, "jobs", "list", "--owner", "agent:noshell", "--json").json() == []


async def test_max_jobs_min_interval_and_action_types_are_enforced(daemon: RealDaemon) -> None:
    """The token's max jobs, min interval and allowed action types each refuse by name."""
    secret = new_token(
        daemon, "capped", "--max-jobs", "2", "--min-interval", "1m", "--actions", "noop"
    )
    async with connect(daemon, token=secret) as conn:
        for name in ("cap-1", "cap-2"):
            await conn.result("job.create", {"spec": spec(name, every="1h", do="noop")})
    third = await refusal(daemon, secret, spec("cap-3", every="1h", do="noop"))
    assert (third["code"], third["data"]["reason"]) == (-32004, "max_jobs"), third
    cli = as_agent(daemon, secret, "schedule", "cap-3", "--every", "1h", "--do", "noop")
    assert (cli.code, "token limit max_jobs" in cli.err) == (4, True), cli.err
    assert admin(daemon, "jobs", "cancel", "cap-2").code == 0
    fast = await refusal(daemon, secret, spec("cap-4", every="10s", do="noop"))
    assert fast["data"]["reason"] == "min_interval", fast
    polls = await refusal(
        daemon,
        secret,
        spec("cap-5", when="when-ready", until="tcp://127.0.0.1:9", do="noop", poll="1s"),
    )
    assert polls["data"]["reason"] == "min_interval", polls
    hook = await refusal(daemon, secret, spec("cap-6", every="1h", do="GET http://127.0.0.1:9/"))
    assert hook["data"]["reason"] == "actions", hook
    far = await refusal(daemon, secret, spec("cap-7", at="2099-01-01T00:00", do="noop"))
    assert far["data"]["reason"] == "max_ttl", far
    admin(daemon, "jobs", "cancel", "cap-1")


async def test_recurring_agent_job_expires_at_its_ttl(daemon: RealDaemon) -> None:
    """A recurring job of a token with max TTL 1s is cancelled with job.expired at its TTL."""
    secret = new_token(daemon, "brief", "--max-ttl", "1s")
    made = await rpc(daemon, "job.create", {"spec": spec("brief-1", every="1h", do="noop")}, secret)
    assert made["expires_at"] is not None

    async def ended() -> bool:
        return (await job(daemon, made["id"]))["status"] == "cancelled"

    await until(ended)
    events = await rpc(daemon, "events.list", {"job": made["id"]})
    assert "job.expired" in [e["type"] for e in events["events"]]


async def test_results_of_agent_jobs_land_in_its_inbox(daemon: RealDaemon) -> None:
    """A finished agent job's outcome and output are in that agent's inbox, not the admin's."""
    secret = new_token(daemon, "reader")
    await rpc(daemon, "job.create", {"spec": spec("note-1", do="noop: hello inbox")}, secret)

    async def unread() -> list[dict[str, Any]]:
        return list(await rpc(daemon, "inbox.list", {"unread_only": True}, secret))

    entries = await until(unread)
    assert entries == as_agent(daemon, secret, "inbox", "--unread", "--json").json()
    item = entries[0]["item"]
    assert (item["name"], item["status"], item["output"]) == ("note-1", "completed", "hello inbox")
    assert item["duration"] >= 0
    assert all(e["item"]["name"] != "note-1" for e in await rpc(daemon, "inbox.list", {}))
    assert as_agent(daemon, secret, "inbox", "--ack", str(entries[0]["id"])).code == 0
    assert await unread() == []


async def test_kill_switch_pauses_agent_jobs_and_refuses_agent_calls(daemon: RealDaemon) -> None:
    """agents off pauses agent jobs and refuses agent calls (exit 4); on resumes them."""
    secret = new_token(daemon, "switchy")
    await rpc(daemon, "job.create", {"spec": spec("sw-1", every="1h", do="noop")}, secret)
    await rpc(daemon, "job.create", {"spec": spec("sw-user", every="1h", do="noop")})
    off = admin(daemon, "agents", "off")
    assert (off.code, "1 agent job(s) paused" in off.out) == (0, True), off.out + off.err
    assert (await job(daemon, "sw-1"))["status"] == "paused"
    assert (await job(daemon, "sw-user"))["status"] == "pending"
    refused = as_agent(daemon, secret, "jobs", "list")
    assert (refused.code, "agents are switched off" in refused.err) == (4, True), refused.err
    assert admin(daemon, "agents", "on").code == 0
    assert (await job(daemon, "sw-1"))["status"] == "pending"
    await rpc(daemon, "job.cancel", {"refs": ["sw-1", "sw-user"]})


def test_jobs_record_provenance_and_list_by_agent_owner(daemon: RealDaemon) -> None:
    """created_by names the token and client; jobs list --owner agent:NAME finds the job."""
    secret = new_token(daemon, "prov")
    made = as_agent(daemon, secret, "schedule", "prov-1", "--every", "1h", "--do", "noop")
    assert made.code == 0, made.err
    listed = admin(daemon, "jobs", "list", "--owner", "agent:prov", "--json").json()
    assert [j["name"] for j in listed] == ["prov-1"]
    assert listed[0]["created_by"]["token_id"].startswith("tok-")
    assert listed[0]["created_by"]["client"] == "gnomon-cli"
    admin(daemon, "jobs", "cancel", "prov-1")


async def test_agent_cannot_operate_on_other_owners_jobs(daemon: RealDaemon) -> None:
    """An agent cancelling a user's job by name is refused (exit 4), the job untouched."""
    secret = new_token(daemon, "meddler")
    await rpc(daemon, "job.create", {"spec": spec("theirs", every="1h", do="noop")})
    refused = as_agent(daemon, secret, "jobs", "cancel", "theirs")
    assert (refused.code, "its own jobs only" in refused.err) == (4, True), refused.err
    assert (await job(daemon, "theirs"))["status"] == "pending"
    await rpc(daemon, "job.cancel", {"refs": ["theirs"]})


async def test_recipe_7_budget_limited_llm_job(daemon: RealDaemon, llm: LocalHTTPServer) -> None:
    """Cookbook recipe 7: one retry and a hard cap on the LLM call (1s standing for 2m):
    against a model that hangs, two capped attempts, then timed_out, in the inbox."""
    secret = new_token(daemon, "frugal", "--actions", "llm_prompt,noop")
    budget = spec("frugal-1", do="llm: summarise the deploy", max_retries=1, timeout="1s")
    budget["budget"]["backoff_initial"] = 0.1
    made = await rpc(daemon, "job.create", {"spec": budget}, secret)

    async def ended() -> bool:
        return (await job(daemon, made["id"]))["status"] == "timed_out"

    await until(ended, timeout=10)
    runs = (await rpc(daemon, "job.logs", {"ref": made["id"]}))["runs"]
    assert [r["outcome"] for r in runs] == ["timeout", "timeout"]
    for r in runs:
        took = datetime.fromisoformat(r["finished_at"]) - datetime.fromisoformat(r["started_at"])
        assert 0.9 <= took.total_seconds() < 3, r
    assert sum(rec.path.endswith("/chat/completions") for rec in llm.requests) >= 2
    inbox = await rpc(daemon, "inbox.list", {"unread_only": True}, secret)
    assert [e["item"]["status"] for e in inbox] == ["timed_out"]


async def test_an_llm_part_naming_no_model_is_keyed_on_the_configured_model(
    daemon: RealDaemon,
) -> None:
    """A job whose ``llm:`` names no model calls the configured ``llm.model`` (here the
    default, gpt-4o-mini): its breaker is that model's (docs/actions-and-conditions.md,
    "Breaker keys"), the one a part naming it explicitly shares — not ``llm:default``."""
    made = await rpc(
        daemon,
        "job.create",
        {"spec": spec("keyed-llm", do="llm: say hi", timeout="1s", max_retries=0)},
    )

    async def ended() -> bool:
        return (await job(daemon, made["id"]))["status"] == "timed_out"

    await until(ended, timeout=10)
    keys = {b["key"] for b in await rpc(daemon, "breaker.list", {})}
    assert "llm:gpt-4o-mini" in keys, keys
    assert "llm:default" not in keys, keys


async def test_owner_rate_limit_refuses_a_burst(daemon: RealDaemon) -> None:
    """Recipe 7's rate-limited owner: past the owner's burst, creation is refused -32004
    with rate_limited and a retry time."""
    secret = new_token(daemon, "bursty")
    errors = []
    async with connect(daemon, token=secret) as conn:
        for n in range(OWNER_BURST + 3):
            answer = await conn.call("job.create", {"spec": spec(f"burst-{n}", do="noop")})
            if "error" in answer:
                errors.append(answer["error"])
    assert errors, "no refusal past the burst"
    assert (errors[0]["code"], errors[0]["data"]["reason"]) == (-32004, "rate_limited")
    assert errors[0]["data"]["retry_after"] > 0


async def test_replace_renews_an_agent_jobs_ttl(daemon: RealDaemon) -> None:
    """Re-scheduling a recurring agent job with replace renews its expiry (same id), so an
    agent keeps a job alive by renewing it before its TTL."""
    secret = new_token(daemon, "renewer", "--max-ttl", "1h")
    first = await rpc(
        daemon, "job.create", {"spec": spec("renew-1", every="1h", do="noop")}, secret
    )
    await trio.sleep(1.1)
    again = await rpc(
        daemon,
        "job.create",
        {"spec": spec("renew-1", every="1h", do="noop"), "replace": True},
        secret,
    )
    assert again["id"] == first["id"]
    assert again["expires_at"] > first["expires_at"]
    admin(daemon, "jobs", "cancel", first["id"])


async def test_a_renewed_agent_job_outlives_its_first_ttl(daemon: RealDaemon) -> None:
    """After a renewal the old expiry no longer fires: the job is alive past it and
    expires at the new one."""
    secret = new_token(daemon, "renewer-2", "--max-ttl", "6s")
    made = await rpc(daemon, "job.create", {"spec": spec("renew-2", every="1h", do="noop")}, secret)
    await trio.sleep(4)  # renewed 2 s before the first expiry
    params = {"spec": spec("renew-2", every="1h", do="noop"), "replace": True}
    renewed = await rpc(daemon, "job.create", params, secret)
    first = datetime.fromisoformat(made["expires_at"]).timestamp()
    assert datetime.fromisoformat(renewed["expires_at"]).timestamp() >= first + 4
    # 1 s past the first expiry and ~3 s before the renewed one (wide margins both sides
    # on a loaded machine, where the old 2 s TTL left 0.7 s for the status call)
    await trio.sleep(max(0.0, first + 1 - time.time()))
    assert (await job(daemon, made["id"]))["status"] == "pending"

    async def ended() -> bool:
        return (await job(daemon, made["id"]))["status"] == "cancelled"

    await until(ended)
