"""``gnomon breakers``, ``gnomon policy`` and ``gnomon inbox`` (docs/commands.md)."""

from __future__ import annotations

import sys
from typing import Any

import click

from gnomon.cli.client import request
from gnomon.cli.output import (
    client_options,
    home_of,
    print_json,
    reports_errors,
    table_options,
)
from gnomon.cli.table import Cell, Column, Terminal, emit, paint
from gnomon.cli.timefmt import ago, humanize, when_text
from gnomon.cli.views import OUTCOME_STYLE, STATUS_STYLE, styled

BREAKER_STYLE = {"closed": "green", "open": "bold red", "half_open": "yellow"}
DECISION_STYLE = {"allow": "green", "ask": "yellow", "deny": "bold red"}


@click.group("breakers", invoke_without_command=True)
@table_options
@click.pass_context
@reports_errors
def breakers(
    ctx: click.Context, /, home: str | None, url: str | None, as_json: bool, wide: bool
) -> None:
    """Circuit breakers per target (no subcommand = list)."""
    if ctx.invoked_subcommand is None:
        _list_breakers(home, url, as_json, wide)


@breakers.command("list")
@table_options
@reports_errors
def list_breakers(home: str | None, url: str | None, as_json: bool, wide: bool) -> None:
    """Breakers that have seen failures, with their state."""
    _list_breakers(home, url, as_json, wide)


BREAKER_COLUMNS = (
    Column("KEY", flex=1),
    Column("STATE"),
    Column("RECENT FAILURES", right=True),
    Column("REOPENS"),
)


def _list_breakers(home: str | None, url: str | None, as_json: bool, wide: bool) -> None:
    found = request(home_of(home), url, "breaker.list", {})
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("no breakers: every target is healthy")
        return
    rows = [
        [
            b["key"],
            Cell(b["status"], BREAKER_STYLE.get(b["status"], "")),
            str(b["recent_failures"]),
            when_text(b.get("reopens_at")),
        ]
        for b in found
    ]
    emit(BREAKER_COLUMNS, rows, wide=wide)


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
    color = Terminal.detect().color
    for rule in rules:
        kind = paint(f"{rule['kind']:<5}", DECISION_STYLE.get(rule["kind"], ""), color)
        click.echo(f"{kind} {rule['pattern']}")


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
        click.echo(paint(verdict["decision"], style, Terminal.detect().color) + why)
    if verdict["decision"] != "allow":
        sys.exit(4)


INBOX_COLUMNS = (
    Column(""),
    Column("ID", right=True),
    Column("AGE"),
    Column("JOB", flex=1),
    Column("STATUS"),
    Column("OUTCOME"),
    Column("MESSAGE", flex=2),
    Column("CYCLE", wide=True, right=True),
    Column("EXIT", wide=True, right=True),
    Column("OUTPUT", wide=True),
)


def inbox_rows(entries: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per inbox entry (``●`` marks unread ones)."""
    rows = []
    for e in entries:
        item = e["item"]
        message = item.get("message") or item.get("summary") or ""
        rows.append(
            [
                "" if e["read"] else "●",
                str(e["id"]),
                ago(e["created_at"]),
                item.get("name") or item.get("job_id") or "—",
                styled(item.get("status"), STATUS_STYLE),
                styled(item.get("outcome"), OUTCOME_STYLE),
                humanize(str(message)),
                "" if item.get("cycle") is None else str(item["cycle"]),
                "" if item.get("exit_code") is None else str(item["exit_code"]),
                (item.get("output") or "").strip(),
            ]
        )
    return rows


@click.command("inbox")
@click.option("--unread", is_flag=True, help="only unread entries")
@click.option("--ack", "ack", multiple=True, type=int, metavar="ID", help="mark read")
@table_options
@reports_errors
def inbox(
    unread: bool,
    ack: tuple[int, ...],
    home: str | None,
    url: str | None,
    as_json: bool,
    wide: bool,
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
    elif not entries:
        click.echo("inbox empty" if not unread else "no unread entries")
    else:
        emit(INBOX_COLUMNS, inbox_rows(entries), wide=wide)
