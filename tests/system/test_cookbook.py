"""docs/cookbook.md, run as written: each recipe's commands against a real daemon.

The commands come from the cookbook's ```` ```sh recipe-N ```` blocks (and
``recipe-N-check``, ``daemon-7``, ``troubleshoot-bypass``), so the documentation and this
test cannot drift. What differs from the page is one documented table,
``support.cookbook_world.substitutions``:

- ``https://hooks.slack.com`` → a local webhook receiver;
- ``http://localhost:8080``, ``https://canary.example.com``, ``https://api.example.com``,
  ``https://staging.example.com`` → one local HTTP server each (``/healthz`` 503 twice
  then 200; ``/smoke`` 500; ``/healthz`` always 503; 200);
- ``https://llm.internal/v1`` → a local OpenAI-compatible stub that never answers;
- ``db.internal:5432`` → a loopback port, closed until the test listens on it;
- ``/var/backups``, ``/srv/site``, ``/srv/ci`` → folders of the test's directory;
- ``--poll 10s`` and ``--poll 2s`` → ``--poll 1s``; ``--every 5s`` → ``--every 1s``;
  ``--every 30s`` → ``--every 500ms``; ``--timeout 2m`` → ``--timeout 2s``;
  ``--backoff 10s`` → ``--backoff 1s``;
- ``gnomon daemon start --detach`` (``daemon-7``, bypass) → a foreground daemon on port
  0 with the line's environment.

``terraform``, ``kubectl`` and ``docker`` are the fake CLIs of ``tests/support/bin`` on
the daemon's PATH. Recipes 6 and 7 drive ``gnomon mcp`` and ``gnomon token``.
"""

from __future__ import annotations

import json
import re
import socket
import tarfile
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import trio
from support.cookbook_doc import parse
from support.cookbook_world import (
    PY,
    Counting,
    Result,
    Servers,
    World,
    blocks,
    fake_fixtures,
    free_port,
    make_world,
    until,
)
from support.daemon_proc import cli_env
from support.exec_io import recorded_argv
from support.pgkit import fresh_database

pytestmark = pytest.mark.slow

AUDIT_FIELDS = {"type", "timestamp", "job_id", "status", "message", "payload"}


def row(table: str, key: str) -> list[str]:
    """The words of the first line of a printed table that starts with ``key``."""
    for line in table.splitlines():
        if line.split()[:1] == [key]:
            return line.split()
    raise AssertionError(f"no row {key!r} in:\n{table}")


def outcomes(world: World, ref: str) -> list[str]:
    """Run outcomes from the job's events, oldest first (failed, breaker_open, …)."""
    ends = ("job.failed", "job.completed", "job.skipped", "job.timed_out", "job.retry_queued")
    return [e["outcome"] for e in world.events(ref) if e["type"] in ends and e["outcome"]]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield Servers.open(stack)


@pytest.fixture(scope="module", params=["sqlite", "cluster"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> Iterator[World]:
    """One daemon on SQLite; or two clustered daemons on a fresh PostgreSQL database, the
    CLI's calls alternating between them (skipped where no PostgreSQL answers)."""
    w = make_world(tmp_path_factory.mktemp(f"cookbook-{request.param}"), servers, "home")
    if request.param == "sqlite":
        w.start()
        yield w
        w.stop()
        return
    with fresh_database() as url:
        w.start_cluster(url)
        try:
            yield w
        finally:
            w.stop()


@pytest.fixture(scope="module")
def world7(tmp_path_factory: pytest.TempPathFactory, servers: Servers) -> Iterator[World]:
    """The daemon of recipe 7, started with the environment of its ``daemon-7`` line."""
    w = make_world(tmp_path_factory.mktemp("cookbook7"), servers, "home")
    (line,) = w.lines("daemon-7")
    cmd = parse(line)
    assert cmd.argv == ["daemon", "start", "--detach"]
    daemon = w.start(cmd.env)
    yield w
    daemon.stop()


@pytest.fixture(scope="module")
def backup(world: World) -> list[Result]:
    """Recipe 3's commands, run once (recipe 10 audits the backup job)."""
    (world.tmp / "site" / "index.html").write_text("<h1>shop</h1>\n")
    return world.run("recipe-3")


def test_every_block_is_a_gnomon_command() -> None:
    """Each recipe has a block, and every tagged line parses as a gnomon command."""
    found = blocks()
    for n in range(1, 13):
        assert f"recipe-{n}" in found, f"recipe {n} has no ```sh recipe-{n} block"
    for lines in found.values():
        assert lines
        for line in lines:
            parse(line)


def test_recipe_1_terraform_then_k8s_wait_then_validate(world: World) -> None:
    """terraform applies; the validate job waits for Available, then prints the deployment."""
    world.run("recipe-1")
    assert world.until_status("infra-apply", "completed", "failed")["status"] == "completed"
    reason = until(
        lambda: "last: no poll" not in (r := world.job("api-validate")["reason"]) and r,
        "api-validate polled",
    )
    assert reason.startswith("waiting for k8s:deployment/prod/api:Available (")
    world.set_fixtures(fake_fixtures(api_available=True))
    done = world.until_status("api-validate", "completed", "failed")
    assert done["status"] == "completed", done["message"]
    show, logs = world.run("recipe-1-check")
    assert row(show.out, "status")[1] == "completed"
    assert "api    3/3" in logs.out
    calls = recorded_argv(world.tmp)
    assert ("terraform", ["-chdir=infra", "apply", "-auto-approve"]) in calls
    polls = [a for t, a in calls if t == "kubectl" and a[-2:] == ["-o", "json"]]
    assert len(polls) >= 2
    assert polls[0][-7:] == ["get", "deployment", "api", "-n", "prod", "-o", "json"]


def test_recipe_2_compose_health_and_smoke(world: World) -> None:
    """Smoke tests run once, only after the container is healthy and /healthz answers 200."""
    app = world.servers.app  # the servers outlive a world: 503 twice again, for this one
    app.route = Counting({"/healthz": (503, 2, 200), "/smoke": (200, 0, 200)})
    before = len(app.requests)
    world.run("recipe-2")
    done = world.until_status("smoke-tests", "completed", "failed")
    assert done["status"] == "completed", done["message"]
    show, events = world.run("recipe-2-check")
    assert row(show.out, "status")[1] == "completed"
    ticks = [e for e in world.events("smoke-tests") if e["type"] == "job.wait_tick"]
    assert any("503" in e["message"] for e in ticks), [e["message"] for e in ticks]
    assert "job.wait_satisfied" in events.out
    paths = [r.path for r in app.requests[before:]]
    # Two 503s, then 200. A poll whose docker side errs on a loaded machine (the fake's
    # process start) may ask /healthz once more; the smoke request still comes once, last.
    assert paths.count("/healthz") >= 3
    assert paths.count("/smoke") == 1
    assert paths[-1] == "/smoke"
    assert ("docker", ["compose", "-f", "compose.yaml", "up", "-d"]) in recorded_argv(world.tmp)


def test_recipe_3_nightly_backup(world: World, backup: list[Result]) -> None:
    """A 02:00 cron job with timeout, retries, TTL and tag; `jobs run` fires it once now."""
    created, listed, fired = backup
    assert "created (nightly-backup)" in created.out
    assert "nightly-backup" in listed.out
    assert "fired" in fired.out
    job = until(
        lambda: (j := world.job("nightly-backup"))["runs"] and j["runs"][0]["outcome"] and j,
        "the backup run ends",
    )
    assert job["runs"][0]["outcome"] == "success", job["runs"][0]["output"]
    assert job["status"] == "pending"
    assert job["tags"] == {"category": "backup"}
    next_fire = datetime.fromisoformat(job["next_fire_at"]).astimezone()
    assert (next_fire.hour, next_fire.minute) == (2, 0)
    budget = job["spec"]["budget"]
    assert (budget["action_timeout"], budget["max_retries"], budget["backoff_initial"]) == (
        3600,
        3,
        60,
    )
    assert job["spec"]["ttl"] == 7 * 86400
    with tarfile.open(world.tmp / "backups" / "site.tgz") as archive:
        assert "./index.html" in archive.getnames()
    show, history = world.run("recipe-3-check")
    assert "success" in show.out
    assert "nightly-backup" in history.out


def test_recipe_4_wait_then_notify(world: World) -> None:
    """--async returns the id; the job waits on the closed port, then posts to the hook."""
    (started,) = world.run("recipe-4")
    job_id = started.out.strip()
    assert re.fullmatch(r"[0-9a-f]{16}", job_id), started.out
    port = world.servers.db_port
    reason = until(
        lambda: "connection refused" in (r := world.job("db-back")["reason"]) and r,
        "db-back polled the closed port",
    )
    assert reason.startswith(f"waiting for tcp://127.0.0.1:{port} (")
    (show,) = world.run("recipe-4-check")
    assert f"waiting for tcp://127.0.0.1:{port}" in show.out
    with socket.create_server(("127.0.0.1", port)):
        done = world.until_status("db-back", "completed", "failed")
    assert done["status"] == "completed", done["message"]
    posts = [
        r
        for r in world.servers.hooks.requests  # the servers outlive a world: this job's only
        if r.path == "/services/T000/B000/XXXX"
        and r.headers.get("idempotency-key", "").startswith(f"{job_id}:")
    ]
    assert [p.json() for p in posts] == [{"text": "the database is back"}]
    assert posts[0].method == "POST"
    assert posts[0].headers["idempotency-key"].startswith(f"{job_id}:")


def test_recipe_5_dag_stops_after_a_failed_smoke_test(world: World) -> None:
    """smoke fails; rollout and notify end failed with `dependency failed`, never run."""
    world.run("recipe-5")
    states = {n: world.until_status(n, "completed", "failed") for n in ("canary", "smoke")}
    for name in ("rollout", "notify"):
        states[name] = world.until_status(name, "completed", "failed")
    assert states["canary"]["status"] == "completed"
    assert states["smoke"]["status"] == "failed"
    assert (states["rollout"]["status"], states["rollout"]["message"]) == (
        "failed",
        "dependency failed: smoke ended failed",
    )
    assert (states["notify"]["status"], states["notify"]["message"]) == (
        "failed",
        "dependency failed: rollout ended failed",
    )
    assert states["rollout"]["runs"] == []
    assert states["notify"]["runs"] == []
    tree, history, show = world.run("recipe-5-check")
    names = [m.group(1) for m in re.finditer(r"(?m)^[\s│├└─]*(\S+) ", tree.out)]
    pipeline = [n for n in names if n in ("canary", "smoke", "rollout", "notify")]
    assert pipeline == ["canary", "smoke", "rollout", "notify"], tree.out
    assert len([ln for ln in history.out.splitlines() if " failed " in f" {ln} "]) == 3
    assert "dependency failed: smoke ended failed" in show.out
    kubectl = [a for t, a in recorded_argv(world.tmp) if t == "kubectl" and "apply" in a]
    assert ["apply", "-f", "k8s/canary.yaml"] in kubectl
    assert ["apply", "-f", "k8s/rollout.yaml"] not in kubectl
    assert not [r for r in world.servers.hooks.requests if b"release 42" in r.body]
    failed = [e for e in world.events("rollout") if e["type"] == "job.dependency_failed"]
    assert [(e["status"], e["message"]) for e in failed] == [
        ("failed", "dependency failed: smoke ended failed")
    ]


async def test_recipe_6_agent_schedules_itself_over_mcp(world: World) -> None:
    """The agent's async wait answers at once; its result reaches the agent's inbox."""
    (created,) = world.run("recipe-6")
    found = re.search(r"gnm_\S+", created.out)
    assert found, created.out
    token = found.group(0)
    server = world.document("mcp-config", AGENT_TOKEN=token)["mcpServers"]["gnomon"]
    assert (server["command"], server["env"]) == ("gnomon", {"GNOMON_TOKEN": token})
    tool = world.document("mcp-call")
    async with mcp_session(world, server["args"], token) as session:
        waited = await call_tool(session, tool["name"], tool["arguments"])
    assert waited["ok"], waited
    assert waited["summary"].endswith("the result will be in your inbox")
    job = await trio.to_thread.run_sync(world.until_status, waited["job_id"], "completed", "failed")
    assert (job["status"], job["owner"]) == ("completed", "agent:claude")
    assert world.servers.ci.requests[0].path == "/builds/981"
    history, inbox = world.run("recipe-6-check", AGENT_TOKEN=token)
    assert job["name"] in history.out
    assert job["name"] in inbox.out
    async with mcp_session(world, server["args"], token) as next_conversation:
        box = await call_tool(next_conversation, "inbox", {"ack": False})
    assert [(e["item"]["name"], e["item"]["status"]) for e in box["entries"]] == [
        (job["name"], "completed")
    ]


@asynccontextmanager
async def mcp_session(world: World, args: list[str], token: str) -> AsyncIterator[Any]:
    """``gnomon ARGS`` (``mcp``) as the agent would start it, and an initialized session."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = cli_env(world.home, GNOMON_TOKEN=token)
    params = StdioServerParameters(command=PY, args=["-m", "gnomon.cli", *args], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call_tool(session: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call's JSON result."""
    result = await session.call_tool(name, arguments)
    return dict(json.loads(result.content[0].text))


def test_recipe_7_budget_limited_llm_job(world7: World) -> None:
    """A hanging model is cut at the cap twice (one retry), the job ends timed_out."""
    world7.run("recipe-7")
    job = world7.until_status("incident-summary", "timed_out", "failed", "completed")
    assert job["status"] == "timed_out", job["message"]
    assert [r["outcome"] for r in job["runs"]] == ["timeout", "timeout"]
    asked = [r for r in world7.servers.llm.requests if r.path == "/v1/chat/completions"]
    assert len(asked) == 2
    assert asked[0].headers["authorization"] == "Bearer sk-example"
    show, config = world7.run("recipe-7-check")
    assert "timeout" in show.out
    assert row(config.out, "limits.owner_rps")[1:3] == ["0.2", "env"]
    assert row(config.out, "llm.base_url")[2] == "env"
    assert row(config.out, "llm.api_key")[1:3] == ["***", "env"]


def test_recipe_7_agent_token(world7: World) -> None:
    """The agent's own token with its limits is created and listed."""
    world7.run("recipe-7-agent")
    listed = world7.gnomon("token", "list")
    assert listed.code == 0, listed.err
    assert "summarizer" in listed.out


def between_probes(world: World) -> tuple[Any, Any, Any, str] | None:
    """recipe-8-check's results and the job's reason, taken while no probe runs."""
    breakers, show, skipped = world.run("recipe-8-check")
    reason = world.gnomon("jobs", "show", "api-probe", "--json").json()["reason"]
    if "open until" not in show.out or "open until" not in reason:
        return None
    return breakers, show, skipped, reason


def test_recipe_8_probe_with_circuit_breaker(world: World) -> None:
    """5 failed probes open the breaker; later probes are breaker_open, never sent."""
    api = world.servers.api
    before = len(api.requests)  # the servers outlive a world: the other variant's probes
    world.run("recipe-8")
    try:
        until(lambda: outcomes(world, "api-probe").count("breaker_open") >= 3, "3 breaker_open")
        seen = outcomes(world, "api-probe")
        assert seen[:5] == ["failed"] * 5
        assert set(seen[5:]) == {"breaker_open"}
        assert len(api.requests) - before == 5
        owner = world.owner_home(world.job("api-probe")["id"])
        with world.only_on(owner):  # a breaker is the state of the node that fires the job
            # between two probes: a show that lands while a probe runs says "running"
            breakers, show, skipped, reason = until(lambda: between_probes(world), "a pause")
        assert row(breakers.out, f"127.0.0.1:{api.port}")[1] == "open"
        assert f"breaker 127.0.0.1:{api.port} open until" in show.out
        opened = world.gnomon("events", "--json", "--type", "breaker.opened").out.splitlines()
        announced = json.loads(opened[-1])["message"].rsplit(" until ", 1)[1]
        assert reason.endswith(f"open until {announced}")  # when it reopens, not "now"
        assert skipped.out.count("job.skipped") >= 3
        assert "breaker open until" in skipped.out
        export = world.gnomon("audit", "export")
        mine = [json.loads(ln) for ln in export.out.splitlines()]
        skips = [e for e in mine if e["name"] == "api-probe" and e["type"] == "job.skipped"]
        assert skips
        assert all(e["payload"]["reason"] == "breaker_open" for e in skips)
        assert all(e["outcome"] == "breaker_open" for e in skips)
    finally:
        world.gnomon("jobs", "cancel", "api-probe")
    assert len(api.requests) - before == 5


def test_recipe_9_cancel_a_tag_at_once(world: World) -> None:
    """One command cancels every job tagged env=staging and reports the count."""
    *_, cancelled = world.run("recipe-9")
    assert cancelled.out.splitlines()[-1] == "3 job(s) cancelled"
    assert cancelled.out.count("cancelled") == 4
    live, history = world.run("recipe-9-check")
    assert "staging-" not in live.out
    assert history.out.count("cancelled") >= 3
    gone = world.gnomon("jobs", "history", "--tag", "env=staging", "--json").json()
    assert sorted((j["name"], j["status"], j["message"]) for j in gone) == [
        (name, "cancelled", "staging torn down")
        for name in ("staging-load", "staging-report", "staging-soak")
    ]


def test_recipe_10_audit_export_and_verify(world: World, backup: list[Result]) -> None:
    """The backup's events, an export with the audit fields, an intact hash chain."""
    until(lambda: world.job("nightly-backup")["last_outcome"], "the backup ran")
    events, _, verify = world.run("recipe-10")
    assert "job.completed" in events.out
    exported = [json.loads(ln) for ln in (world.tmp / "audit.jsonl").read_text().splitlines()]
    assert exported
    assert all(e.keys() >= AUDIT_FIELDS for e in exported)
    backup_id = world.job("nightly-backup")["id"]
    mine = {e["type"]: e for e in exported if e["job_id"] == backup_id}
    assert {"job.created", "job.fired", "job.running", "job.completed"} <= mine.keys()
    assert mine["job.completed"]["payload"]["attempt"] == 1
    assert mine["job.completed"]["payload"]["run_id"]
    assert "fire_time" in mine["job.fired"]["payload"]
    assert verify.out.startswith("✔ hash chain intact")


# -- troubleshooting --------------------------------------------------------------------


def test_trouble_job_never_fires(world: World, tmp_path: Path) -> None:
    """jobs show names the cause (paused, blocked, next fire); daemon status exits 3."""
    created = world.gnomon("schedule", "weekly-report", "--cron", "0 9 * * 1", "--do", "noop")
    assert created.code == 0, created.err
    assert world.job("weekly-report")["reason"].startswith("next fire at ")
    world.gnomon("jobs", "pause", "weekly-report")
    show = world.gnomon("jobs", "show", "weekly-report")
    why = " ".join(row(show.out, "why")[1:])
    assert why == "paused; `gnomon jobs resume weekly-report` continues it"
    data = world.gnomon("schedule", "report-data", "--in", "1h", "--do", "noop")
    assert data.code == 0, data.err
    after = world.gnomon("schedule", "mail-report", "--depends-on", "report-data", "--do", "noop")
    assert after.code == 0, after.err
    assert world.job("mail-report")["reason"] == "blocked: waiting for report-data"
    world.gnomon("jobs", "cancel", "weekly-report", "report-data", "mail-report")
    empty = world.gnomon("daemon", "status", env={"GNOMON_HOME": str(tmp_path / "nothing")})
    assert empty.code == 3
    assert "not running" in empty.out + empty.err


def test_trouble_rate_limited(world7: World) -> None:
    """Past the owner's burst, schedule exits 4 saying when to retry."""
    for i in range(6):
        result = world7.gnomon("schedule", f"burst-{i}", "--in", "1h", "--do", "noop")
        if result.code != 0:
            break
    assert result.code == 4, result.out
    assert "error: rate limited: too many new jobs; retry in " in result.err


def test_trouble_wait_polls_forever(world: World) -> None:
    """jobs show names the condition, the polls and the last result; a blocking wait too."""
    port = free_port()
    started = world.gnomon(
        "wait", "--until", f"tcp://127.0.0.1:{port}", "--every", "1s", "--name", "stuck", "--async"
    )
    assert started.code == 0, started.err
    try:
        reason = until(
            lambda: "connection refused" in (r := world.job("stuck")["reason"]) and r,
            "stuck polled",
        )
        assert reason.startswith(f"waiting for tcp://127.0.0.1:{port} (")
        assert "gives up at " in reason
        breakers = world.gnomon("breakers")
        assert breakers.code == 0
        assert f"tcp:127.0.0.1:{port}" not in breakers.out  # refused is "not yet"
        alone = world.gnomon(
            "wait", "--until", f"tcp://127.0.0.1:{port}", "--every", "1s", "--timeout", "2s"
        )
        assert alone.code == 1
        assert "(2 poll(s), last: " in alone.out
        assert "connection refused" in alone.out
    finally:
        world.gnomon("jobs", "cancel", "stuck")


def test_trouble_daemon_will_not_start(world: World, tmp_path: Path) -> None:
    """daemon start names the process holding the port (exit 5); status exits 3."""
    home = {"GNOMON_HOME": str(tmp_path / "home")}
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        start = world.gnomon("daemon", "start", "--detach", "--port", str(port), env=home)
    assert start.code == 5
    assert f"port {port} is in use by another process" in start.err
    assert "pick --port or stop it" in start.err
    status = world.gnomon("daemon", "status", env=home)
    assert status.code == 3


def test_trouble_shell_policy(world: World) -> None:
    """policy check shows ask/deny; schedule refusals list the ways out; deny beats --i-know."""
    scratch = world.tmp / "scratch"
    cmd = f"rm -rf {scratch}"
    check = world.gnomon("policy", "check", cmd)
    assert (check.code, check.out.split()[0]) == (4, "ask")
    asked = world.gnomon("schedule", "cleanup", "--do", f"shell: {cmd}")
    assert asked.code == 4
    for way in ("needs confirmation (policy: ask)", "--i-know", "gnomon policy allow", "BYPASS"):
        assert way in asked.err, way
    again = world.gnomon(
        "schedule",
        "cleanup",
        "--every",
        "1s",
        "--max-retries",
        "0",
        "--do",
        f"shell: {cmd}",
        "--i-know",
    )
    assert again.code == 0, again.err
    try:
        assert world.gnomon("policy", "deny", "rm -rf *").code == 0
        denied = world.gnomon("policy", "check", cmd)
        assert (denied.code, denied.out.split()[0]) == (4, "deny")
        refused = world.gnomon("schedule", "cleanup-2", "--do", f"shell: {cmd}", "--i-know")
        assert refused.code == 4
        assert "denied by policy" in refused.err
        reason = until(
            lambda: (r := world.job("cleanup")["reason"]).startswith("refused by policy") and r,
            "cleanup refused at fire time",
        )
        assert "matches deny rule 'rm -rf *'" in reason
    finally:
        world.gnomon("policy", "remove", "rm -rf *")
        world.gnomon("jobs", "cancel", "cleanup")


def test_trouble_full_bypass(
    world: World, tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> None:
    """bypass_safety runs only on a daemon started with GNOMON_SHELL_ALLOW_BYPASS=true."""
    ci = make_world(tmp_path_factory.mktemp("cookbook-ci"), servers, "home")
    start, schedule, config = ci.lines("troubleshoot-bypass")
    (ci.tmp / "ci" / "build.sh").write_text(f"echo built > {ci.tmp / 'ci' / 'built.txt'}\n")
    without = world.gnomon(*parse(schedule).argv)
    assert without.code == 4
    assert "bypass_safety requires the operator to set GNOMON_SHELL_ALLOW_BYPASS=true" in (
        without.err
    )
    daemon = ci.start(parse(start).env)
    try:
        created = ci.gnomon(*parse(schedule).argv)
        assert created.code == 0, created.err
        done = ci.until_status("ci-build", "completed", "failed")
        assert done["status"] == "completed", done["message"]
        assert (ci.tmp / "ci" / "built.txt").read_text() == "built\n"
        shown = ci.gnomon(*parse(config).argv)
        assert row(shown.out, "shell.allow_bypass")[1:3] == ["true", "env"]
    finally:
        daemon.stop()


def test_recipe_11_calendars_holidays_and_jitter(world: World) -> None:
    """Every new schedule form is admitted; the dry run marks the holiday and shows each
    fire's jitter within 10 minutes of its 09:00 Paris slot."""
    results = world.run("recipe-11")
    assert "✔ calendar holidays saved (2 date(s), 1 window(s), in Europe/Paris)" in results[0].out
    assert all("created" in r.out for r in results[1:7])
    fires = [line for line in results[-1].out.splitlines() if line.startswith("  20")]
    assert len(fires) == 4
    assert ["excluded: holidays" in line for line in fires] == [False, True, False, False]
    for line in fires:
        utc, local = line.split()[:2]
        assert local.startswith(("2026-12-2", "2026-12-3")), line
        assert "T09:0" in local, line
        assert datetime.fromisoformat(utc) == datetime.fromisoformat(local)
    assert world.job("month-end")["spec"]["schedule"]["exprs"] == ["*-*~01 23:00", "*-*-15 12:00"]
    assert world.job("evening-sync")["spec"]["schedule"]["exprs"] == ["Mon..Fri *-*-* 18:30"]
    listing, show = world.run("recipe-11-check")
    assert "window  Fri 18:00..Mon 06:00" in listing.out
    assert "standup-report" in show.out


def test_recipe_12_backfill_runs_each_day_once(world: World) -> None:
    """Ten daily slots fire once each; the second backfill fires nothing."""
    _create, first, again = world.run("recipe-12")
    assert "10 slot(s) in range, 10 to fire, 0 already claimed or excluded" in first.out
    assert first.out.strip().endswith("✔ 10 slot(s) fired")
    assert "0 to fire, 10 already claimed or excluded" in again.out
    assert again.out.strip().endswith("✔ 0 slot(s) fired")
    runs = world.job("daily-report")["runs"]
    assert sorted(r["fire_time"][:10] for r in runs) == [f"2026-11-{d:02}" for d in range(1, 11)]
    world.run("recipe-12-check")
