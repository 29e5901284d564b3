"""``gnomon wait --until COND [--then ACTION]`` (docs/commands.md).

Creates a job that fires when ready and, unless ``--async``, blocks following that job's
events (a subscription that replays from the job's first event, so nothing between create
and subscribe is missed; never by polling the daemon), with a live progress line on a
terminal. With ``--then``, the action's runs and their output are printed at the end as
``jobs logs`` prints them (``--json``: a ``runs`` key). Exit 0 when the condition held and
the action succeeded, 1 otherwise. Ctrl-C
stops following only: the job keeps running and its id is printed.
"""

from __future__ import annotations

import secrets
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
import trio

from gnomon.cli.client import Client, connect
from gnomon.cli.jobspec import spec_from_options
from gnomon.cli.output import client_options, home_of, out, print_json, reports_errors
from gnomon.cli.table import Terminal
from gnomon.cli.views import run_lines
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import DaemonUnreachable
from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import TERMINAL_STATUSES
from gnomon.runtime.model.events import EventType


def wait_options(until: str, then: str | None, **flags: Any) -> dict[str, Any]:
    """``gnomon wait`` flags → the option mapping of :func:`spec_from_options`."""
    options: dict[str, Any] = {
        "name": flags.get("name") or f"wait-{secrets.token_hex(3)}",
        "when": "when-ready",
        "until": until,
        "do": then or "noop",
    }
    renamed = {"every": "poll", "timeout": "wait_timeout", "tags": "tag"}
    for key in ("every", "timeout", "max_polls", "on_timeout", "fallback", "tags", "i_know"):
        value = flags.get(key)
        if value not in (None, (), False):
            options[renamed.get(key, key)] = value
    return options


@click.command("wait")
@click.option("--until", required=True, metavar="COND", help="condition DSL, e.g. 'tcp:db:5432'")
@click.option("--then", metavar="ACTION", help="action once it holds (default: nothing)")
@click.option("--every", metavar="DUR", help="poll interval (5s)")
@click.option("--timeout", metavar="DUR", help="wait deadline (30m)")
@click.option("--max-polls", metavar="N", help="give up after N checks (0 = unlimited)")
@click.option("--on-timeout", metavar="fail|fire_anyway|fallback", help="at the deadline (fail)")
@click.option("--fallback", metavar="ACTION", help="action for --on-timeout fallback")
@click.option("--name", help="job name (default: wait-XXXXXX)")
@click.option("--tag", "tags", multiple=True, metavar="K[=V]", help="repeatable")
@click.option("--i-know", is_flag=True, help="confirm a shell command the policy asks about")
@click.option("--async", "detach", is_flag=True, help="print the job id and return at once")
@client_options
@reports_errors
def wait(
    until: str,
    then: str | None,
    detach: bool,
    home: str | None,
    url: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Wait until COND holds (then run ACTION); blocks unless --async."""
    spec = spec_from_options(
        wait_options(until, then, **flags), now=datetime.now(UTC).replace(microsecond=0)
    )
    job_id: list[str] = []
    try:
        final = trio.run(
            _run, home, url, wire.unstructure(spec), detach, as_json, job_id, then is not None
        )
    except KeyboardInterrupt:
        if job_id:
            click.echo(
                f"stopped following; job {job_id[0]} keeps running "
                f"(gnomon jobs show {job_id[0]}, gnomon jobs cancel {job_id[0]})",
                err=True,
            )
        sys.exit(130)
    if final is not None and final["status"] != "completed":
        sys.exit(1)


async def _run(
    home: str | None,
    url: str | None,
    spec: dict[str, Any],
    detach: bool,
    as_json: bool,
    job_id: list[str],
    show_runs: bool,
) -> dict[str, Any] | None:
    async with connect(home_of(home), url) as client:
        job = await client.call(methods.JOB_CREATE, {"spec": spec})
        job_id.append(job["id"])
        if detach:
            if as_json:
                print_json(job)
            else:
                click.echo(job["id"])
            return None
        final = await follow(client, job, quiet=as_json)
        runs = await client.recent_runs(job["id"]) if show_runs else []
    if as_json:
        print_json({**final, "runs": runs} if show_runs else final)
        return final
    color = Terminal.detect().color
    for run in runs:  # the action's output, as `gnomon jobs logs` prints it
        click.echo("\n".join(run_lines(run, color)))
    click.echo(summary(final))
    return final


async def follow(client: Client, job: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
    """Follow ``job``'s events until it ends (re-subscribing from the lag marker when the
    daemon says this client fell behind); the final job view.

    Raises:
        DaemonUnreachable: the daemon closed the event stream before the job ended.
    """
    started, checks, last, since = time.monotonic(), 0, "", 0
    live = out.is_terminal and not quiet
    status = out.status(f"waiting for {job['wait']}") if live else None
    if status is not None:
        status.start()
    try:
        while True:
            async with client.subscribe(job=job["id"], since_seq=since) as notes:
                async for note in notes:
                    if "resume_from" in note:  # lagged: replay the rest from the store
                        since = int(note["resume_from"])
                        break
                    event, since = note["event"], int(note["seq"])
                    if event["type"] == EventType.JOB_WAIT_TICK:
                        checks, last = checks + 1, event.get("message") or ""
                    if status is not None:
                        took = int(time.monotonic() - started)
                        status.update(
                            f"waiting for {job['wait']} — {checks} check(s), {took}s {last}"
                        )
                    if (
                        event.get("status") in TERMINAL_STATUSES
                        and event["type"] != EventType.JOB_CREATED
                    ):
                        ended: dict[str, Any] = await client.call(
                            methods.JOB_GET, {"ref": job["id"]}
                        )
                        return dict(ended["job"])
                else:
                    raise DaemonUnreachable(
                        f"the daemon closed the event stream; job {job['id']} keeps running",
                        hint=f"gnomon jobs show {job['id']}",
                    )
    finally:
        if status is not None:
            status.stop()


def summary(job: dict[str, Any]) -> str:
    """The one line printed when a blocking wait ends."""
    if job["status"] == "completed":
        return f"✔ {job['name']}: {job['wait']} held; {job['message'] or 'done'}"
    return f"✘ {job['name']} ended {job['status']}: {job['message']}"
