"""``gnomon jobs …`` (docs/commands.md): list, show, tree, history, logs, cancel, pause,
resume, run, clear. ``REF`` is an id, a unique id prefix (4+ characters) or a live job's
name; the daemon resolves it (exit 3 when nothing matches)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import trio

from gnomon.cli.backfill_cmd import backfill
from gnomon.cli.client import connect, request, request_all
from gnomon.cli.output import (
    client_options,
    home_of,
    print_json,
    print_json_line,
    reports_errors,
    table_options,
)
from gnomon.cli.table import Terminal, emit, paint
from gnomon.cli.timefmt import local_time
from gnomon.cli.views import (
    ID_WIDTH,
    JOB_COLUMNS,
    RUN_COLUMNS,
    STATUS_STYLE,
    by_next_fire,
    event_line,
    job_rows,
    jobs_rows,
    kv_lines,
    run_lines,
    runs_rows,
    transition_line,
)
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.durations import parse_duration
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.events import EventType

STATUSES = [s.value for s in JobStatus]
STATUS = click.Choice(STATUSES, case_sensitive=False)


def _list_options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--all", "all_", is_flag=True, help="include finished jobs"),
            click.option("--status", "statuses", multiple=True, type=STATUS, help="repeatable"),
            click.option("--tag", "tags", multiple=True, metavar="K[=V]", help="repeatable"),
            click.option("--owner", metavar="KIND[:ID]", help="e.g. user, agent:claude"),
            click.option("--name", metavar="SUBSTR", help="names containing SUBSTR"),
        ]
    ):
        fn = option(fn)
    return fn


@click.group("jobs", invoke_without_command=True)
@_list_options
@table_options
@click.pass_context
@reports_errors
def jobs(
    ctx: click.Context, /, home: str | None, url: str | None, as_json: bool, wide: bool, **q: Any
) -> None:
    """List and manage jobs (no subcommand = list, with list's options)."""
    if ctx.invoked_subcommand is None:
        _list(home, url, as_json, wide, **q)


def _list(home: str | None, url: str | None, as_json: bool, wide: bool, **query: Any) -> None:
    params = {
        "all": query["all_"],
        "statuses": list(query["statuses"]),
        "tags": list(query["tags"]),
        "owner": query["owner"],
        "name": query["name"],
    }
    found = by_next_fire(request_all(home_of(home), url, methods.JOB_LIST, params, "jobs"))
    if as_json:
        print_json(found)
    elif not found:
        what = "jobs" if params["all"] else "live jobs"
        click.echo(f"no {what} match" if any(query.values()) else f"no {what}")
    else:
        emit(JOB_COLUMNS, jobs_rows(found), wide=wide)


@jobs.command("list")
@_list_options
@table_options
@reports_errors
def list_jobs(home: str | None, url: str | None, as_json: bool, wide: bool, **q: Any) -> None:
    """Live jobs by next fire (--all adds finished ones)."""
    _list(home, url, as_json, wide, **q)


@jobs.command("history")
@_list_options
@table_options
@reports_errors
def history(home: str | None, url: str | None, as_json: bool, wide: bool, **q: Any) -> None:
    """Every job, finished ones included (= list --all)."""
    _list(home, url, as_json, wide, **{**q, "all_": True})


@jobs.command("show")
@click.argument("ref")
@table_options
@reports_errors
def show(ref: str, home: str | None, url: str | None, as_json: bool, wide: bool) -> None:
    """A job's fields, schedule, next fires, last 10 runs and transitions."""
    detail = request(home_of(home), url, methods.JOB_GET, {"ref": ref})
    if as_json:
        print_json(
            {
                **detail["job"],
                "runs": detail["runs"],
                "transitions": detail["transitions"],
                "next_fires": detail["next_fires"],
            }
        )
        return
    _print_detail(detail, wide)


def _print_detail(detail: dict[str, Any], wide: bool) -> None:
    term, now = Terminal.detect(), datetime.now(UTC)
    lines = kv_lines(job_rows(detail["job"], now), width=term.width, color=term.color)
    if detail["next_fires"]:
        held = detail["job"].get("hold")
        title = paint("next fires", "bold", term.color)
        lines += ["", title + (f" (on schedule; now {held})" if held else "")]
        lines += [f"  {local_time(fire, now)}" for fire in detail["next_fires"]]
    click.echo("\n".join(lines))
    if detail["runs"]:
        click.echo("\n" + paint("runs", "bold", term.color) + " (newest first)")
        emit(RUN_COLUMNS, runs_rows(detail["runs"], now), wide=wide)
    if detail["transitions"]:
        click.echo("\n" + paint("transitions", "bold", term.color))
        for t in detail["transitions"][-10:]:
            click.echo(transition_line(t, now, term.color))


@jobs.command("tree")
@client_options
@reports_errors
def tree(home: str | None, url: str | None, as_json: bool) -> None:
    """The DAG (depends-on) and trigger lineage, roots first."""
    found = request(home_of(home), url, methods.JOB_TREE, {})
    if as_json:
        print_json(found)
        return
    nodes = {n["id"]: n for n in found["nodes"]}
    if not nodes:
        click.echo("no jobs")
        return
    for node in found["nodes"]:
        if node["parent"] is None or node["parent"] not in nodes:
            _print_tree(node, nodes, "", True, root=True)


def _print_tree(
    node: dict[str, Any], nodes: dict[str, Any], prefix: str, last: bool, *, root: bool = False
) -> None:
    link = "" if root else ("└─ " if last else "├─ ")
    via = "" if root else (" (triggered)" if node["kind"] == "trigger" else " (after)")
    color = Terminal.detect().color
    status = paint(node["status"], STATUS_STYLE.get(node["status"], ""), color)
    ident = paint(node["id"][:ID_WIDTH], "dim", color)
    click.echo(f"{prefix}{link}{node['name']} {ident} {status}{via}")
    children = [nodes[c] for c in node["children"] if c in nodes]
    for i, child in enumerate(children):
        deeper = prefix + ("" if root else ("   " if last else "│  "))
        _print_tree(child, nodes, deeper, i == len(children) - 1)


@jobs.command("logs")
@click.argument("ref")
@click.option("--follow", "-f", is_flag=True, help="keep printing new runs and events")
@click.option("--cycle", type=click.IntRange(0), help="only this cycle")
@client_options
@reports_errors
def logs(
    ref: str, follow: bool, cycle: int | None, home: str | None, url: str | None, as_json: bool
) -> None:
    """Run outputs, grouped by cycle and attempt (oldest first)."""
    trio.run(_logs, home, url, ref, cycle, follow, as_json)


async def _logs(
    home: str | None, url: str | None, ref: str, cycle: int | None, follow: bool, as_json: bool
) -> None:
    async with connect(home_of(home), url) as client:
        job = (await client.call(methods.JOB_GET, {"ref": ref}))["job"]
        # the event horizon first: a run ending while we list runs is still followed
        since = (await client.call(methods.EVENTS_LIST, {"limit": 1, "since_seq": 0}))["last_seq"]
        runs = await client.recent_runs(job["id"], cycle, RUNS_SHOWN)
        for run in runs:
            _print_run(run, as_json)
        if not follow:
            if not runs and not as_json:
                click.echo(f"{job['name']}: no runs yet")
            return
        seen = {(r["run_id"], r.get("finished_at")) for r in runs}
        click.echo(f"following {job['name']} (Ctrl-C stops)", err=True)
        async with client.subscribe(job=job["id"], since_seq=since) as notes:
            async for note in notes:
                event = note.get("event")
                if event is None:
                    continue
                if not as_json:
                    term = Terminal.detect()
                    click.echo(event_line(event, term.color, term.width))
                if event["type"] in _RUN_END:
                    for run in await client.recent_runs(job["id"], cycle, RUNS_SHOWN):
                        key = (run["run_id"], run.get("finished_at"))
                        if key not in seen and run.get("finished_at"):
                            seen.add(key)
                            _print_run(run, as_json)


RUNS_SHOWN = 100
_RUN_END = {
    EventType.JOB_COMPLETED,
    EventType.JOB_FAILED,
    EventType.JOB_RETRY_QUEUED,
    EventType.JOB_TIMED_OUT,
    EventType.JOB_CANCELLED,
}


def _print_run(run: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json_line(run)  # NDJSON: one run per line (docs/commands.md)
    else:
        click.echo("\n".join(run_lines(run, Terminal.detect().color)))


def _select_options(fn: Any) -> Any:
    for option in reversed(
        [
            click.argument("refs", nargs=-1),
            click.option("--tag", "tags", multiple=True, metavar="K[=V]", help="by tag"),
            click.option("--status", "statuses", multiple=True, type=STATUS, help="by status"),
        ]
    ):
        fn = option(fn)
    return fn


def _bulk(
    method: str, verb: str, params: dict[str, Any], home: str | None, url: str | None, as_json: bool
) -> None:
    if not (params["refs"] or params["tags"] or params["statuses"]):
        raise InvalidInput(
            f"no jobs selected for {method.removeprefix('job.')}: name them or pick by tag/status",
            accepted=["REF…", "--tag k=v", "--status S"],
        )
    result = request(home_of(home), url, method, params)
    if as_json:
        print_json(result)
        return
    for job in result["jobs"]:
        click.echo(f"✔ {job['name']} ({job['id'][:ID_WIDTH]}) {verb}")
    _unlisted(result)
    if params["tags"] or params["statuses"] or len(params["refs"]) > 1:
        click.echo(f"{result['count']} job(s) {verb}")


def _unlisted(result: dict[str, Any]) -> None:
    """Say so when a bulk answer lists fewer jobs than it counts (one frame's worth)."""
    hidden = result["count"] - len(result["jobs"])
    if hidden > 0:
        click.echo(f"… and {hidden} more (not listed: the answer holds one frame's worth)")


def _select(
    refs: tuple[str, ...], tags: tuple[str, ...], statuses: tuple[str, ...], reason: str = ""
) -> dict[str, Any]:
    return {"refs": list(refs), "tags": list(tags), "statuses": list(statuses), "reason": reason}


def _bulk_command(name: str, method: str, verb: str, doc: str) -> None:
    """Register ``jobs NAME REF… | --tag | --status [--reason]`` calling ``method``."""

    @_select_options
    @click.option("--reason", default="", help="recorded with the change")
    @client_options
    @reports_errors
    def command(
        refs: tuple[str, ...],
        tags: tuple[str, ...],
        statuses: tuple[str, ...],
        reason: str,
        home: str | None,
        url: str | None,
        as_json: bool,
    ) -> None:
        _bulk(method, verb, _select(refs, tags, statuses, reason), home, url, as_json)

    command.__doc__ = doc
    jobs.command(name)(command)


_bulk_command(
    "cancel",
    methods.JOB_CANCEL,
    "cancelled",
    "Cancel jobs, killing running actions' process groups.",
)
_bulk_command(
    "pause", methods.JOB_PAUSE, "paused", "Pause jobs (works in every non-terminal state)."
)
_bulk_command("resume", methods.JOB_RESUME, "resumed", "Resume paused jobs.")


jobs.add_command(backfill)


@jobs.command("run")
@click.argument("ref")
@client_options
@reports_errors
def run_now(ref: str, home: str | None, url: str | None, as_json: bool) -> None:
    """Fire a job now (its schedule is not disturbed)."""
    job = request(home_of(home), url, methods.JOB_RUN, {"ref": ref})
    if as_json:
        print_json(job)
    else:
        click.echo(f"✔ {job['name']} ({job['id'][:ID_WIDTH]}) fired — status {job['status']}")


@jobs.command("clear")
@click.option("--failed", is_flag=True)
@click.option("--completed", is_flag=True)
@click.option("--cancelled", is_flag=True)
@click.option("--timed-out", is_flag=True)
@click.option("--status", "statuses", multiple=True, type=STATUS, help="repeatable")
@click.option("--older-than", metavar="DUR", help="finished longer ago than DUR")
@click.option("--name", metavar="SUBSTR")
@click.option("--yes", is_flag=True, help="really delete (else: list what would go)")
@table_options
@reports_errors
def clear(
    failed: bool,
    completed: bool,
    cancelled: bool,
    timed_out: bool,
    statuses: tuple[str, ...],
    older_than: str | None,
    name: str | None,
    yes: bool,
    home: str | None,
    url: str | None,
    as_json: bool,
    wide: bool,
) -> None:
    """Delete finished job records; without --yes only lists what would go."""
    chosen = list(statuses)
    for flag, status in (
        (failed, "failed"),
        (completed, "completed"),
        (cancelled, "cancelled"),
        (timed_out, "timed_out"),
    ):
        if flag:
            chosen.append(status)
    params = {
        "statuses": chosen,
        "older_than": None if older_than is None else _duration(older_than, "--older-than"),
        "name": name,
        "yes": yes,
    }
    result = request(home_of(home), url, methods.JOB_CLEAR, params)
    if as_json:
        print_json(result)
        return
    if not result["jobs"]:
        click.echo("nothing to clear")
        return
    emit(JOB_COLUMNS, jobs_rows(result["jobs"]), wide=wide)
    _unlisted(result)
    if yes:
        click.echo(f"✔ {result['count']} job(s) cleared")
    else:
        click.echo(f"{result['count']} job(s) would be cleared; add --yes to delete them")


def _duration(text: str, flag: str) -> float:
    try:
        return parse_duration(text)
    except InvalidInput as exc:
        exc.message = f"{flag}: {exc.message}"
        raise
