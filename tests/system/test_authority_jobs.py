"""What a job may do is what the token that created it may do (issue 17, items 2 and 3),
against a real daemon: slash commands run with a job credential of the creating token
(never the admin token for a write caller), token secrets never reach a view, and a
token's max_jobs holds for a batch and for concurrent connections."""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from gateway.rawws import connect, error_of
from support.authority import (
    admin,
    as_token,
    batch,
    ended,
    hello,
    login_ticket,
    new_token,
    result,
    session_of,
    spec,
)
from support.daemon_proc import RealDaemon, cli_env, until
from support.local_http import LocalHTTPServer, Reply

pytestmark = pytest.mark.slow
LIMITS = {"GNOMON_LIMITS_OWNER_RPS": "1000", "GNOMON_LIMITS_OWNER_BURST": "1000"}
SECRET = re.compile(r"(gnm|glt)_[A-Za-z0-9_-]{8}|(gds1|gjc1)\.[A-Za-z0-9_-]{8}")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """One daemon for the module (owner rate limits raised); it must stop cleanly."""
    home = tmp_path_factory.mktemp("authority") / "home"
    running = RealDaemon.start(home, env=cli_env(home, **LIMITS))
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


def names(daemon: RealDaemon, *flags: str) -> list[str]:
    return [j["name"] for j in admin(daemon, "jobs", "list", *flags, "--json").json()]


def token_names(daemon: RealDaemon) -> list[str]:
    return [t["name"] for t in admin(daemon, "token", "list", "--json").json()]


# -- slash commands: the creating token's authority (item 2) ---------------------------


async def test_the_original_attack_a_write_session_slash_job_gets_no_admin_token(
    daemon: RealDaemon,
) -> None:
    """A default (write) dashboard session's slash job `/token create --scope admin`, run,
    is refused -32003 naming the scope (the CLI exits 4); no token is made."""
    session = await session_of(daemon, login_ticket(daemon))
    slash = spec("esc-session", when="manual", do="/token create --name esc-x --scope admin")
    async with connect(daemon, token=None) as conn:
        assert "result" in await hello(conn, session)
        made = await conn.result("job.create", {"spec": slash})
        assert (made["created_by"]["token_id"], made["created_by"]["scope"]) == ("admin", "write")
        await conn.result("job.run", {"ref": made["id"]})
    run = (await ended(daemon, made["id"]))["runs"][0]
    assert (run["outcome"], run["exit_code"]) == ("failed", 4), run
    assert "scope is write, the method needs admin" in run["output"], run
    assert "esc-x" not in token_names(daemon)


async def test_a_write_token_named_after_the_os_user_acts_as_itself(daemon: RealDaemon) -> None:
    """A write token whose owner is the daemon's user: `/token create` is refused at
    admission (exit 4), and its `/schedule` slash job creates a child as that token
    (created_by names it, scope write, the parent job and run), not as admin."""
    secret, token_id = new_token(daemon, getpass.getuser())
    direct = as_token(daemon, secret, "schedule", "esc-user", "--when", "manual",
                      "--do", "/token create --name esc-y --scope admin")  # fmt: skip
    assert (direct.code, "slash command /token is not open" in direct.err) == (4, True)
    spawner = as_token(daemon, secret, "schedule", "user-spawner", "--json",
                       "--do", "/schedule user-child --in 1h --do noop").json()  # fmt: skip
    await ended(daemon, spawner["id"])
    child = (await result(daemon, "job.get", {"ref": "user-child"}))["job"]
    by = child["created_by"]
    assert (by["token_id"], by["scope"], by["parent_job"]) == (token_id, "write", spawner["id"])
    assert child["owner"] == f"user:{getpass.getuser()}"
    assert "esc-y" not in token_names(daemon)
    admin(daemon, "jobs", "cancel", "user-child")
    admin(daemon, "token", "revoke", token_id)


async def test_a_slash_job_of_a_revoked_token_runs_nothing(daemon: RealDaemon) -> None:
    """Once its creating token is revoked, a slash job run by the admin fails naming the
    token, and its command never ran (no child job)."""
    secret, token_id = new_token(daemon, "slash-revoked")
    slash = "/schedule revoked-child --in 1h --do noop"
    made = as_token(daemon, secret, "schedule", "revoked-spawner", "--when", "manual",
                    "--json", "--do", slash).json()  # fmt: skip
    assert admin(daemon, "token", "revoke", token_id).code == 0
    assert admin(daemon, "jobs", "run", made["id"]).code == 0
    run = (await ended(daemon, made["id"]))["runs"][0]
    assert run["outcome"] == "failed"
    assert f"the token that created this job ({token_id}) is revoked" in run["error"], run
    assert "revoked-child" not in names(daemon, "--all")


async def test_an_agent_slash_command_runs_under_the_agent_limits(daemon: RealDaemon) -> None:
    """An agent's `/schedule` runs as the agent: a child under its min interval is refused
    (the slash run exits 4 naming the limit), one within is created owned by the agent."""
    secret, token_id = new_token(daemon, "slashbot", "--agent", "--min-interval", "1m")
    fast = as_token(daemon, secret, "schedule", "bot-fast", "--json",
                    "--do", "/schedule bot-fast-child --every 10s --do noop").json()  # fmt: skip
    run = (await ended(daemon, fast["id"]))["runs"][0]
    assert (run["exit_code"], "token limit min_interval" in run["output"]) == (4, True), run
    slow = as_token(daemon, secret, "schedule", "bot-slow", "--json",
                    "--do", "/schedule bot-slow-child --every 1h --do noop").json()  # fmt: skip
    assert (await ended(daemon, slow["id"]))["runs"][0]["outcome"] == "success"
    child = (await result(daemon, "job.get", {"ref": "bot-slow-child"}))["job"]
    assert (child["owner"], child["created_by"]["token_id"]) == ("agent:slashbot", token_id)
    assert "bot-fast-child" not in names(daemon, "--all")
    admin(daemon, "jobs", "cancel", "bot-slow-child")


async def test_token_secrets_reach_no_view(daemon: RealDaemon) -> None:
    """The admin's slash job `/token create` makes a token, but its secret is masked in
    jobs logs, jobs show, events and audit export; an agent webhook answered with a secret
    has it masked in its inbox."""
    made = admin(daemon, "schedule", "minter", "--json",
                 "--do", "/token create --name minted-by-job").json()  # fmt: skip
    assert (await ended(daemon, made["id"]))["runs"][0]["outcome"] == "success"
    assert "minted-by-job" in token_names(daemon)
    views = {
        "logs": admin(daemon, "jobs", "logs", "minter").out,
        "show": admin(daemon, "jobs", "show", "minter", "--json").out,
        "events": admin(daemon, "events", "--json").out,
        "audit": admin(daemon, "audit", "export", "--since", "2000-01-01").out,
    }
    assert "gnm_***" in views["logs"]
    leaked = {view: SECRET.findall(text) for view, text in views.items() if SECRET.search(text)}
    assert not leaked, leaked
    fake = "gnm_" + "S3cr3t-" * 6

    def route(_: Any) -> Reply:
        return Reply(200, f"your token is {fake}")

    secret, _ = new_token(daemon, "hooky", "--agent")
    with LocalHTTPServer(route) as server:
        hook = as_token(daemon, secret, "schedule", "hooky-1", "--json",
                        "--do", f"GET {server.url}/t").json()  # fmt: skip
        await ended(daemon, hook["id"])
    inbox = as_token(daemon, secret, "inbox", "--json").out
    assert "gnm_***" in inbox, inbox
    assert fake not in inbox


# -- max_jobs is atomic per owner (item 3) ---------------------------------------------


async def test_one_batch_of_8_creates_leaves_exactly_max_jobs(daemon: RealDaemon) -> None:
    """The original attack: one JSON-RPC batch of 8 job.create from an agent with max 3
    jobs leaves exactly 3 live jobs; the other 5 are -32004 max_jobs."""
    secret, _ = new_token(daemon, "batcher", "--agent", "--max-jobs", "3")
    calls = [("job.create", {"spec": spec(f"batch-{n}", every="1h", do="noop")}) for n in range(8)]
    async with connect(daemon, token=secret) as conn:
        answers = await batch(conn, calls)
    refused = [a["error"] for a in answers if "error" in a]
    assert len(refused) == 5, answers
    assert {(e["code"], e["data"]["reason"]) for e in refused} == {(-32004, "max_jobs")}
    assert len(names(daemon, "--owner", "agent:batcher")) == 3


async def test_concurrent_creates_on_several_connections_respect_max_jobs(
    daemon: RealDaemon,
) -> None:
    """Four connections creating two jobs each at once, for an agent with max 3 jobs,
    leave exactly 3 live jobs (each job names a trigger template, so its admission awaits
    the template's lookup between counting and creating)."""
    secret, _ = new_token(daemon, "racer", "--agent", "--max-jobs", "3")
    assert admin(daemon, "schedule", "race-tpl", "--when", "manual", "--do", "noop").code == 0
    outcomes: list[dict[str, Any]] = []

    async def two(index: int) -> None:
        async with connect(daemon, token=secret) as conn:
            for n in range(2):  # pipelined: the daemon runs both at once
                job = spec(f"race-{index}-{n}", every="1h", do="noop", triggers=["race-tpl"])
                params = {"spec": job}
                await conn.send(
                    {"jsonrpc": "2.0", "id": n, "method": "job.create", "params": params}
                )
            outcomes.extend([await conn.recv(), await conn.recv()])

    async with trio.open_nursery() as nursery:
        for index in range(4):
            nursery.start_soon(two, index)
    assert sum("result" in o for o in outcomes) == 3, outcomes
    for refused in [o for o in outcomes if "error" in o]:
        assert error_of(refused, -32004)["data"]["reason"] == "max_jobs"
    assert len(names(daemon, "--owner", "agent:racer")) == 3
    admin(daemon, "jobs", "cancel", "race-tpl")


async def test_trigger_clones_count_against_max_jobs(daemon: RealDaemon) -> None:
    """An agent at max 2 live jobs (a manual template and a recurring job that triggers it)
    gets no clone beyond its limit: each refused clone is a job.skipped (reason max_jobs)
    on the template, and the agent never holds more than 2 live jobs."""
    secret, _ = new_token(daemon, "cloner", "--agent", "--max-jobs", "2")
    tpl = spec("clone-tpl", when="manual", do="noop")
    await result(daemon, "job.create", {"spec": tpl}, token=secret)
    source = spec("clone-src", every="1s", do="noop", triggers=["clone-tpl"])
    await result(daemon, "job.create", {"spec": source}, token=secret)

    def refused() -> list[dict[str, Any]]:
        out = admin(daemon, "events", "--json", "--type", "job.skipped", "--job", "clone-tpl")
        return [e for e in map(json.loads, out.out.splitlines()) if e["payload"].get("trigger")]

    until(lambda: len(refused()) >= 2, "two refused clones")
    skips = refused()
    assert {e["payload"]["reason"] for e in skips} == {"max_jobs"}
    assert "token limit max_jobs" in skips[0]["message"]
    assert sorted(names(daemon, "--owner", "agent:cloner")) == ["clone-src", "clone-tpl"]
    admin(daemon, "jobs", "cancel", "clone-src")
