"""``gnomon events`` and ``gnomon audit export|verify`` (``docs/commands.md``).

``events`` prints committed events oldest first (NDJSON with ``--json``), within a window
like journalctl's (:mod:`gnomon.cli.event_window`: ``--since``, ``--until``, ``--tail``,
``--job``, ``--type``). ``--follow`` starts at the end — the last 10 events unless
``--since``/``--tail`` say otherwise — and keeps streaming live through a subscription
that resumes after a lag marker, so nothing is skipped or printed twice. ``audit export``
writes the same window as JSONL ready for log shippers; ``audit verify`` asks the daemon
(``audit.verify``, admin: it holds the audit key) to check the event log against its
anchors and MACs, and exits 1 naming what is missing or wrong.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

import attrs
import click
import trio

from gnomon.cli.client import Client, connect, request
from gnomon.cli.event_window import Bound, Window, make_window, query_params
from gnomon.cli.output import client_options, home_of, reports_errors
from gnomon.cli.table import Terminal
from gnomon.cli.views import event_line
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import GnomonError, InvalidInput
from gnomon.runtime.model.times import detect_local_zone

PAGE = 1000
FOLLOW_TAIL = 10
F = TypeVar("F", bound=Callable[..., Any])


async def pages(client: Client, **params: Any) -> AsyncIterator[dict[str, Any]]:
    """Every committed event matching ``params`` (``events.list``), oldest first."""
    since = int(params.pop("since_seq", 0) or 0)
    while True:
        page = await client.call(methods.EVENTS_LIST, {**params, "since_seq": since, "limit": PAGE})
        for event in page["events"]:
            yield event
            since = event["seq"]
        if not page["more"]:
            return


async def last_events(client: Client, count: int, **params: Any) -> list[dict[str, Any]]:
    """The last ``count`` events matching ``params``, oldest first (pages of
    :data:`PAGE`, newest first, walking back by ``until_seq``)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        want = min(PAGE, count - len(found))
        page = await client.call(methods.EVENTS_LIST, {**params, "limit": want, "newest": True})
        found = page["events"] + found
        if not page["more"] or not page["events"]:
            break
        params = {**params, "until_seq": page["events"][0]["seq"] - 1}
    return found


async def horizon(client: Client) -> int:
    """The seq of the last committed event now."""
    answer = await client.call(methods.EVENTS_LIST, {"limit": 1, "newest": True})
    return int(answer["last_seq"])


async def window_events(
    client: Client, window: Window, job_id: str | None, until_seq: int | None
) -> AsyncIterator[dict[str, Any]]:
    """The events of ``window`` up to seq ``until_seq`` (when given), oldest first."""
    params = query_params(window, job_id=job_id, horizon=until_seq)
    if window.tail is not None:
        for event in await last_events(client, window.tail, **params):
            yield event
        return
    async for event in pages(client, **params):
        yield event


def window_options(fn: F) -> F:
    """``--since``, ``--until``, ``--tail``, ``--job``, ``--type`` (the module docstring)."""
    for option in reversed(
        [
            click.option(
                "--since", metavar="WHEN", help="SEQ/seq:N (after it), 1h, 30m, today, TIME"
            ),
            click.option("--until", metavar="WHEN", help="seq:N (up to it), 1h, 30m, TIME"),
            click.option(
                "--tail", "-n", type=click.IntRange(0), metavar="N", help="the last N events"
            ),
            click.option("--job", metavar="REF", help="one job's events"),
            click.option(
                "--type", "types", multiple=True, metavar="GLOB", help="e.g. 'job.*' (repeatable)"
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _window(flags: dict[str, Any]) -> Window:
    return make_window(
        since=flags["since"],
        until=flags["until"],
        tail=flags["tail"],
        job=flags["job"],
        types=tuple(flags["types"]),
        now=datetime.now(UTC),
        tz=detect_local_zone(),
    )


async def _job_id(client: Client, ref: str | None) -> str | None:
    return (
        None
        if ref is None
        else str((await client.call(methods.JOB_GET, {"ref": ref}))["job"]["id"])
    )


def _emit(event: dict[str, Any], as_json: bool, term: Terminal) -> None:
    if as_json:
        click.echo(json.dumps(event, ensure_ascii=False))
    else:
        click.echo(event_line(event, term.color, term.width))


@click.command("events")
@click.option("--follow", "-f", is_flag=True, help="keep streaming new events (from the end)")
@window_options
@client_options
@reports_errors
def events(follow: bool, home: str | None, url: str | None, as_json: bool, **flags: Any) -> None:
    """Committed events, oldest first (NDJSON with --json)."""
    window = _window(flags)
    if follow and window.until != Bound():
        raise InvalidInput(
            "--follow streams new events: it cannot stop at --until",
            token="--until",
            accepted=("--follow", "--until WHEN"),
        )
    if follow and window.tail is None and window.since == Bound():
        window = attrs.evolve(window, tail=FOLLOW_TAIL)  # start at the end, like journalctl -f
    trio.run(_events, home, url, window, follow, as_json)


async def _events(
    home: str | None, url: str | None, window: Window, follow: bool, as_json: bool
) -> None:
    term = Terminal.detect()
    async with connect(home_of(home), url) as client:
        job_id = await _job_id(client, window.job)
        last = await horizon(client) if follow else None
        async for event in window_events(client, window, job_id, last):
            _emit(event, as_json, term)
        if last is None:
            return
        last = max(last, window.since.seq or 0)
        while True:
            last = await _follow(client, last, job_id, window.types, as_json, term)


async def _follow(
    client: Client,
    since: int,
    job_id: str | None,
    types: tuple[str, ...],
    as_json: bool,
    term: Terminal,
) -> int:
    """Stream events after ``since`` until the subscription lags; the last seq printed."""
    async with client.subscribe(types=types, job=job_id, since_seq=since) as notes:
        async for note in notes:
            if "resume_from" in note:
                return int(note["resume_from"])
            if note["seq"] > since:
                _emit(note["event"], as_json, term)
                since = note["seq"]
    raise GnomonError("the daemon closed the event stream", hint="gnomon daemon status")


@click.group("audit")
def audit() -> None:
    """Export the audit trail (JSONL) and verify its hash chain."""


@audit.command("export")
@window_options
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="file (stdout)"
)
@click.option("--home", metavar="DIR", help="gnomon home directory")
@click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")
@reports_errors
def export(output: str | None, home: str | None, url: str | None, **flags: Any) -> None:
    """Write events as JSON lines (type, timestamp, job_id, status, message, payload, …)."""
    window = _window(flags)
    if output is None:
        trio.run(_export, home, url, window, sys.stdout)
        return
    with open(output, "w", encoding="utf-8") as sink:
        count = trio.run(_export, home, url, window, sink)
    click.echo(f"✔ {count} event(s) written to {output}", err=True)


async def _export(home: str | None, url: str | None, window: Window, sink: IO[str]) -> int:
    count = 0
    async with connect(home_of(home), url) as client:
        job_id = await _job_id(client, window.job)
        async for event in window_events(client, window, job_id, None):
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
    result = request(home_of(home), url, methods.AUDIT_VERIFY, {})
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
