"""``gnomon calendar add|list|rm``: named exclusion calendars (methods ``calendar.*``).

A job names them with ``--exclude NAME``; a slot a calendar covers is skipped with reason
``excluded: NAME`` (runtime/model/exclusions.py says how dates and windows are read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
import trio

from gnomon.cli.client import connect, request
from gnomon.cli.output import client_options, home_of, print_json, reports_errors
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model import wire
from gnomon.runtime.model.exclusions import ExclusionCalendar, make_calendar
from gnomon.runtime.model.times import detect_local_zone


def known_calendars(
    home: str | None, url: str | None, names: Sequence[str]
) -> dict[str, ExclusionCalendar] | None:
    """The calendars of a running daemon, for ``--dry-run`` (which starts none): ``{}``
    when ``names`` is empty, ``None`` when no daemon answers."""
    if not names:
        return {}

    async def fetch() -> Any:
        async with connect(home_of(home), url, start=False) as client:
            return await client.call(methods.CALENDAR_LIST, {})

    try:
        result = trio.run(fetch)
    except (GnomonError, OSError):
        return None
    return {c["name"]: wire.structure(c, ExclusionCalendar) for c in result["calendars"]}


@click.group("calendar")
def calendar() -> None:
    """Exclusion calendars: dates and weekly windows in which jobs do not fire."""


@calendar.command("add")
@click.argument("name")
@click.option("--date", "dates", multiple=True, metavar="YYYY-MM-DD", help="repeatable")
@click.option(
    "--window", "windows", multiple=True, metavar="'DAY HH:MM..DAY HH:MM'", help="repeatable"
)
@click.option("--tz", metavar="IANA", help="zone of the dates and windows (the local zone)")
@click.option("--replace", is_flag=True, help="overwrite the calendar of that name")
@client_options
@reports_errors
def add(
    name: str,
    dates: tuple[str, ...],
    windows: tuple[str, ...],
    tz: str | None,
    replace: bool,
    home: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Add exclusion calendar NAME (at least one --date or --window)."""
    cal = make_calendar(name, tz or detect_local_zone(), dates, windows)  # validate first
    params = {
        "name": cal.name,
        "tz": cal.tz,
        "dates": list(cal.dates),
        "windows": list(cal.windows),
        "replace": replace,
    }
    result = request(home_of(home), url, methods.CALENDAR_ADD, params)
    if as_json:
        print_json(result)
        return
    click.echo(f"✔ calendar {name} saved ({_summary(result)})")


def _summary(cal: dict[str, Any]) -> str:
    dates, windows = cal.get("dates") or (), cal.get("windows") or ()
    parts = [f"{len(dates)} date(s)", f"{len(windows)} window(s)", f"in {cal.get('tz')}"]
    return ", ".join(parts)


@calendar.command("list")
@client_options
@reports_errors
def list_(home: str | None, url: str | None, as_json: bool) -> None:
    """List the exclusion calendars."""
    result = request(home_of(home), url, methods.CALENDAR_LIST, {})
    if as_json:
        print_json(result)
        return
    if not result["calendars"]:
        click.echo("no calendars")
    for cal in result["calendars"]:
        click.echo(f"{cal['name']}  ({cal['tz']})")
        for d in cal["dates"]:
            click.echo(f"  date    {d}")
        for w in cal["windows"]:
            click.echo(f"  window  {w}")


@calendar.command("rm")
@click.argument("name")
@client_options
@reports_errors
def rm(name: str, home: str | None, url: str | None, as_json: bool) -> None:
    """Remove exclusion calendar NAME (jobs naming it then exclude nothing by it)."""
    result = request(home_of(home), url, methods.CALENDAR_REMOVE, {"name": name})
    if as_json:
        print_json(result)
        return
    click.echo(f"✔ calendar {name} removed")
