"""``gnomon token …`` and ``gnomon agents on|off`` (docs/commands.md, docs/agents.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from gnomon.cli.client import request
from gnomon.cli.output import client_options, home_of, print_json, reports_errors, table_options
from gnomon.cli.table import Column, emit
from gnomon.cli.timefmt import ago, parse_iso, short_local
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.actions import ACTION_TAGS
from gnomon.runtime.model.durations import format_duration


@click.group("token")
def token() -> None:
    """Access tokens for clients and agents (admin)."""


def limits_of(flags: dict[str, Any], agent: bool) -> dict[str, Any] | None:
    """``--max-jobs``, ``--min-interval``, ``--max-ttl``, ``--actions``, ``--shell`` as the
    wire form of ``TokenLimits``; ``None`` when no limit flag was given."""
    from gnomon.cli.jobspec import duration  # the DSL parsers: only `token create` needs them

    given = {k: v for k, v in flags.items() if v not in (None, ())}
    if not given:
        return None
    limits: dict[str, Any] = {"shell": given.get("shell", not agent)}
    if "max_jobs" in given:
        if given["max_jobs"] < 1:
            raise InvalidInput("--max-jobs: must be at least 1", field="max_jobs")
        limits["max_jobs"] = given["max_jobs"]
    for name in ("min_interval", "max_ttl"):
        value = duration(given, name)
        if value is not None:
            limits[name] = value
    if "actions" in given:
        tags = tuple(t.strip() for t in given["actions"].split(",") if t.strip())
        unknown = [t for t in tags if t not in ACTION_TAGS]
        if unknown:
            raise InvalidInput(
                f"--actions: unknown action type {unknown[0]!r}",
                token=unknown[0],
                accepted=ACTION_TAGS,
                field="actions",
            )
        limits["actions"] = list(tags)
    return limits


@token.command("create")
@click.option("--name", required=True, help="who the token is for (owner agent:NAME/user:NAME)")
@click.option(
    "--scope",
    type=click.Choice(["read", "write", "admin"]),
    default="write",
    show_default=True,
    help="what it may call (agents: read or write)",
)
@click.option("--agent", is_flag=True, help="an agent token: limited, no shell, 7d job TTL")
@click.option("--max-jobs", type=int, metavar="N", help="live jobs at most")
@click.option("--min-interval", metavar="DUR", help="shortest fire or poll interval")
@click.option("--max-ttl", metavar="DUR", help="jobs expire after this (agents: 7d)")
@click.option("--actions", metavar="TYPES", help="allowed action types, comma-separated")
@click.option("--shell/--no-shell", default=None, help="may run local commands (agents: no)")
@client_options
@reports_errors
def create(
    name: str,
    scope: str,
    agent: bool,
    home: str | None,
    url: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Create a token; its secret is printed once."""
    params = {"name": name, "scope": scope, "agent": agent, "limits": limits_of(flags, agent)}
    made = request(home_of(home), url, "token.create", params)
    if as_json:
        print_json(made)
        return
    info = made["info"]
    click.echo(f"✔ token {info['id']} for {info['owner']} ({info['scope']})")
    click.echo(f"  limits: {describe_limits(info['limits'])}")
    click.echo(made["token"])
    click.echo("  (shown once: give it to the client as GNOMON_TOKEN)", err=True)


def describe_limits(limits: dict[str, Any]) -> str:
    """One line for a token's limits."""
    parts = []
    if limits.get("max_jobs") is not None:
        parts.append(f"max jobs {limits['max_jobs']}")
    for key, label in (("min_interval", "min interval"), ("max_ttl", "ttl")):
        if limits.get(key) is not None:
            parts.append(f"{label} {format_duration(limits[key])}")
    if limits.get("actions") is not None:
        parts.append("actions " + (",".join(limits["actions"]) or "none"))
    parts.append("shell" if limits.get("shell", True) else "no shell")
    return ", ".join(parts)


TOKEN_COLUMNS = (
    Column("ID"),
    Column("OWNER", flex=1),
    Column("SCOPE"),
    Column("LIMITS", flex=1),
    Column("CREATED"),
    Column("REVOKED"),
    Column("CREATED AT", wide=True),
    Column("REVOKED AT", wide=True),
)


def token_rows(found: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per token: id, owner, scope, limits, ages (local times with -o wide)."""
    now = datetime.now(UTC)
    rows = []
    for t in found:
        created, revoked = parse_iso(t["created_at"]), parse_iso(t.get("revoked_at"))
        rows.append(
            [
                t["id"],
                t["owner"],
                t["scope"],
                describe_limits(t["limits"]),
                ago(t["created_at"], now),
                "" if revoked is None else ago(t["revoked_at"], now),
                "—" if created is None else short_local(created, now),
                "" if revoked is None else short_local(revoked, now),
            ]
        )
    return rows


@token.command("list")
@table_options
@reports_errors
def list_tokens(home: str | None, url: str | None, as_json: bool, wide: bool) -> None:
    """Every token (never the secrets)."""
    found = request(home_of(home), url, "token.list", {})
    if as_json:
        print_json(found)
    elif not found:
        click.echo("no tokens: only the home's admin token works")
    else:
        emit(TOKEN_COLUMNS, token_rows(found), wide=wide)


@token.command("revoke")
@click.argument("ids", nargs=-1, metavar="ID…")
@click.option("--all-agents", is_flag=True, help="every agent token (and pause agent jobs)")
@client_options
@reports_errors
def revoke(
    ids: tuple[str, ...], all_agents: bool, home: str | None, url: str | None, as_json: bool
) -> None:
    """Revoke tokens by id or name (connections using them are refused from now on)."""
    params = {"ids": list(ids), "all_agents": all_agents}
    done = request(home_of(home), url, "token.revoke", params)
    if as_json:
        print_json(done)
        return
    click.echo(
        f"✔ {len(done)} token(s) revoked" + "".join(f"\n  {t['id']} {t['owner']}" for t in done)
    )


@click.group("agents", invoke_without_command=True)
@client_options
@click.pass_context
@reports_errors
def agents(ctx: click.Context, /, home: str | None, url: str | None, as_json: bool) -> None:
    """The kill switch for every agent token and agent job (no subcommand = status)."""
    if ctx.invoked_subcommand is None:
        _show(request(home_of(home), url, "agents.status", {}), as_json)


def _show(state: dict[str, Any], as_json: bool, verb: str = "") -> None:
    if as_json:
        print_json(state)
        return
    word = "on" if state["enabled"] else "off"
    changed = f"; {state['changed']} agent job(s) {verb}" if verb else ""
    click.echo(f"agents are {word} ({state['agent_jobs']} live agent job(s)){changed}")


def _switch(enabled: bool, verb: str) -> Any:
    @client_options
    @reports_errors
    def command(home: str | None, url: str | None, as_json: bool) -> None:
        state = request(home_of(home), url, "agents.set", {"enabled": enabled})
        _show(state, as_json, verb)

    return command


agents.command("on", help="Accept agent calls again and resume the jobs 'off' paused.")(
    _switch(True, "resumed")
)
agents.command("off", help="Refuse agent calls and pause every agent-owned job.")(
    _switch(False, "paused")
)
