"""``gnomon breakers``, ``gnomon policy`` and ``gnomon inbox`` (CONTRACT §3.4)."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table

from gnomon.cli.client import request
from gnomon.cli.output import client_options, home_of, out, print_json, reports_errors
from gnomon.cli.views import local_time

BREAKER_STYLE = {"closed": "green", "open": "bold red", "half_open": "yellow"}
DECISION_STYLE = {"allow": "green", "ask": "yellow", "deny": "bold red"}


@click.group("breakers", invoke_without_command=True)
@client_options
@click.pass_context
@reports_errors
def breakers(ctx: click.Context, /, home: str | None, url: str | None, as_json: bool) -> None:
    """Circuit breakers per target (no subcommand = list)."""
    if ctx.invoked_subcommand is None:
        _list_breakers(home, url, as_json)


@breakers.command("list")
@client_options
@reports_errors
def list_breakers(home: str | None, url: str | None, as_json: bool) -> None:
    """Breakers that have seen failures, with their state."""
    _list_breakers(home, url, as_json)


def _list_breakers(home: str | None, url: str | None, as_json: bool) -> None:
    found = request(home_of(home), url, "breaker.list", {})
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("no breakers: every target is healthy")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("KEY", "STATE", "RECENT FAILURES", "REOPENS"):
        table.add_column(column)
    for b in found:
        style = BREAKER_STYLE.get(b["status"], "")
        table.add_row(
            b["key"],
            f"[{style}]{b['status']}[/]",
            str(b["recent_failures"]),
            local_time(b.get("reopens_at")),
        )
    out.print(table)


@breakers.command("reset")
@click.argument("key")
@client_options
@reports_errors
def reset(key: str, home: str | None, url: str | None, as_json: bool) -> None:
    """Close breaker KEY now (admin)."""
    found = request(home_of(home), url, "breaker.reset", {"key": key})
    if as_json:
        print_json(found)
    else:
        click.echo(f"✔ breaker {found['key']} is {found['status']}")


@click.group("policy", invoke_without_command=True)
@client_options
@click.pass_context
@reports_errors
def policy(ctx: click.Context, /, home: str | None, url: str | None, as_json: bool) -> None:
    """The shell safety policy: deny wins, allow runs, anything else asks (no subcommand =
    list)."""
    if ctx.invoked_subcommand is None:
        _print_rules(request(home_of(home), url, "policy.list", {}), as_json)


def _print_rules(rules: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(rules)
        return
    if not rules:
        click.echo(
            "no rules: read-only commands (ls, cat, kubectl get, …) run, "
            "everything else asks (needs --i-know)"
        )
    for rule in rules:
        style = DECISION_STYLE.get(rule["kind"], "")
        out.print(f"[{style}]{rule['kind']:<5}[/] {rule['pattern']}", highlight=False)


@policy.command("list")
@client_options
@reports_errors
def list_rules(home: str | None, url: str | None, as_json: bool) -> None:
    """Deny and allow patterns (policy.toml)."""
    _print_rules(request(home_of(home), url, "policy.list", {}), as_json)


def _policy_set(action: str) -> Any:
    @click.argument("pattern")
    @client_options
    @reports_errors
    def command(pattern: str, home: str | None, url: str | None, as_json: bool) -> None:
        rules = request(home_of(home), url, "policy.set", {"action": action, "pattern": pattern})
        if not as_json:
            click.echo(f"✔ {action} {pattern!r}")
        _print_rules(rules, as_json)

    return command


policy.command("allow", help="Run commands matching PATTERN without asking (admin).")(
    _policy_set("allow")
)
policy.command("deny", help="Refuse commands matching PATTERN, always (admin).")(
    _policy_set("deny")
)
policy.command("remove", help="Remove rule PATTERN (admin).")(_policy_set("remove"))


@policy.command("check")
@click.argument("command")
@client_options
@reports_errors
def check(command: str, home: str | None, url: str | None, as_json: bool) -> None:
    """Classify COMMAND: allow (exit 0), ask or deny (exit 4)."""
    verdict = request(home_of(home), url, "policy.check", {"command": command})
    if as_json:
        print_json(verdict)
    else:
        style = DECISION_STYLE.get(verdict["decision"], "")
        why = f" — {verdict['reason']}" if verdict["reason"] else ""
        out.print(f"[{style}]{verdict['decision']}[/]{why}", highlight=False)
    if verdict["decision"] != "allow":
        sys.exit(4)


@click.command("inbox")
@click.option("--unread", is_flag=True, help="only unread entries")
@click.option("--ack", "ack", multiple=True, type=int, metavar="ID", help="mark read")
@client_options
@reports_errors
def inbox(
    unread: bool, ack: tuple[int, ...], home: str | None, url: str | None, as_json: bool
) -> None:
    """Results of jobs addressed to you, unread first."""
    if ack:
        count = request(home_of(home), url, "inbox.ack", {"ids": list(ack)})["count"]
        if as_json:
            print_json({"acked": count})
        else:
            click.echo(f"✔ {count} entr{'y' if count == 1 else 'ies'} marked read")
        return
    entries = request(home_of(home), url, "inbox.list", {"unread_only": unread})
    if as_json:
        print_json(entries)
        return
    if not entries:
        click.echo("inbox empty" if not unread else "no unread entries")
    for e in entries:
        mark = " " if e["read"] else "●"
        item = e["item"]
        summary = item.get("summary") or item.get("message") or item
        out.print(f"{mark} {e['id']:>4} {local_time(e['created_at'])}  {summary}", highlight=False)
