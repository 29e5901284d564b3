"""``gnomon events`` and ``gnomon audit export|verify`` (CONTRACT §3.4, §6).

``events`` prints committed events oldest first (NDJSON with ``--json``); ``--follow``
keeps streaming them live through a subscription that resumes after a lag marker, so
nothing is skipped or printed twice. ``audit export`` writes JSONL ready for log
shippers; ``audit verify`` asks the daemon (``audit.verify``, admin: it holds the audit
key) to check the event log against its anchors and MACs, and exits 1 naming what is
missing or wrong.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import IO, Any

import click
import trio

from gnomon.cli.client import Client, connect, request
from gnomon.cli.output import client_options, home_of, out, reports_errors
from gnomon.cli.views import event_line
from gnomon.runtime.errors import GnomonError, InvalidInput
from gnomon.runtime.model.times import detect_local_zone, parse_time

PAGE = 1000


async def pages(client: Client, **params: Any) -> AsyncIterator[dict[str, Any]]:
    """Every committed event matching ``params`` (``events.list``), oldest first."""
    since = int(params.pop("since_seq", 0) or 0)
    while True:
        page = await client.call("events.list", {**params, "since_seq": since, "limit": PAGE})
        for event in page["events"]:
            yield event
            since = event["seq"]
        if len(page["events"]) < PAGE:
            return


def _emit(event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(event, ensure_ascii=False))
    else:
        out.print(event_line(event))


@click.command("events")
@click.option("--follow", "-f", is_flag=True, help="keep streaming new events")
@click.option(
    "--since",
    "since",
    type=click.IntRange(0),
    default=0,
    metavar="SEQ",
    help="events after this seq",
)
@click.option("--job", metavar="REF", help="one job's events")
@click.option("--type", "types", multiple=True, metavar="GLOB", help="e.g. 'job.*' (repeatable)")
@client_options
@reports_errors
def events(
    follow: bool,
    since: int,
    job: str | None,
    types: tuple[str, ...],
    home: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Committed events, oldest first (NDJSON with --json)."""
    trio.run(_events, home, url, follow, since, job, types, as_json)


async def _events(
    home: str | None,
    url: str | None,
    follow: bool,
    since: int,
    job: str | None,
    types: tuple[str, ...],
    as_json: bool,
) -> None:
    async with connect(home_of(home), url) as client:
        job_id = None if job is None else (await client.call("job.get", {"ref": job}))["job"]["id"]
        last = since
        async for event in pages(client, since_seq=since, job=job_id, types=list(types)):
            _emit(event, as_json)
            last = event["seq"]
        while follow:
            last = await _follow(client, last, job_id, types, as_json)


async def _follow(
    client: Client, since: int, job_id: str | None, types: tuple[str, ...], as_json: bool
) -> int:
    """Stream events after ``since`` until the subscription lags; the last seq printed."""
    async with client.subscribe(types=types, job=job_id, since_seq=since) as notes:
        async for note in notes:
            if "resume_from" in note:
                return int(note["resume_from"])
            if note["seq"] > since:
                _emit(note["event"], as_json)
                since = note["seq"]
    raise GnomonError("the daemon closed the event stream", hint="gnomon daemon status")


@click.group("audit")
def audit() -> None:
    """Export the audit trail (JSONL) and verify its hash chain."""


def _time(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    try:
        return parse_time(text, now=datetime.now(UTC), tz=detect_local_zone()).isoformat()
    except InvalidInput as exc:
        exc.message = f"{flag}: {exc.message}"
        raise


@audit.command("export")
@click.option("--since", metavar="TIME", help="events at or after TIME")
@click.option("--until", metavar="TIME", help="events before TIME")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="file (stdout)"
)
@click.option("--home", metavar="DIR", help="gnomon home directory")
@click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")
@reports_errors
def export(
    since: str | None, until: str | None, output: str | None, home: str | None, url: str | None
) -> None:
    """Write events as JSON lines (type, timestamp, job_id, status, message, payload, …)."""
    window = {"since": _time(since, "--since"), "until": _time(until, "--until")}
    if output is None:
        trio.run(_export, home, url, window, sys.stdout)
        return
    with open(output, "w", encoding="utf-8") as sink:
        count = trio.run(_export, home, url, window, sink)
    click.echo(f"✔ {count} event(s) written to {output}", err=True)


async def _export(home: str | None, url: str | None, window: dict[str, Any], sink: IO[str]) -> int:
    count = 0
    async with connect(home_of(home), url) as client:
        async for event in pages(client, **window):
            sink.write(json.dumps(event, ensure_ascii=False) + "\n")
            count += 1
    return count


@audit.command("verify")
@click.option("--home", metavar="DIR", help="gnomon home directory")
@click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")
@click.option("--json", "as_json", is_flag=True, help="machine output")
@reports_errors
def verify(home: str | None, url: str | None, as_json: bool) -> None:
    """Check the event log's hash chain, anchors and MACs; exit 1 naming the first bad seq."""
    result = request(home_of(home), url, "audit.verify", {})
    result["from"] = result["first_seq"]  # the field's name before anchors (scripts)
    result["reason"] = result["problem"]
    if as_json:
        click.echo(json.dumps(result))
    elif result["ok"]:
        keyed = (
            ""
            if result["keyed_from"] <= result["first_seq"]
            else (f"; keyed from seq {result['keyed_from']}")
        )
        click.echo(
            f"✔ hash chain intact: {result['checked']} event(s) from seq {result['first_seq']}"
            f" to {result['head_seq']}{keyed}"
        )
    if not result["ok"]:
        at = result["first_bad_seq"]
        where = f" at seq {at}" if at is not None else ""
        raise GnomonError(f"hash chain broken{where}: {result['problem']}")
