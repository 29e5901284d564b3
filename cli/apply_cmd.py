"""``gnomon apply -f FILE``: create or update the jobs of a file, idempotent by name.

The file (:mod:`gnomon.cli.jobfile`) is read and checked whole first; then
``job.create_many`` calls in ``apply`` mode — as many as the daemon's frame limit needs
(:mod:`gnomon.cli.apply_split`; ``--atomic`` refuses to span several): an equal live job
is left ``unchanged``, a changed one is ``configured`` (updated in place), a new one
``created``; the answers are printed in file order. When the daemon's rate limit refuses a
call, its jobs go again in smaller calls (a call larger than the burst can never pass) or
after the wait it names, so a long file still goes through. ``--dry-run`` asks the daemon
what would change and writes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click
import trio

from gnomon.cli import apply_split
from gnomon.cli.client import connect
from gnomon.cli.jobfile import read_file, specs_of
from gnomon.cli.output import client_options, home_of, reports_errors, run
from gnomon.cli.timefmt import local_time
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import Conflict, Refused, from_wire
from gnomon.runtime.home import Home
from gnomon.runtime.model import wire
from gnomon.runtime.model.job import JobSpec

COUNTS = ("created", "configured", "unchanged", "refused", "skipped")
MAX_WAIT = 120.0  # longest rate-limit wait apply sits out before giving up
DEFAULT_MESSAGE_BYTES = 1 << 20  # gateway.max_message_bytes of a daemon whose hello omits it


def load(files: tuple[str, ...], now: datetime) -> list[JobSpec]:
    """Every job of ``files``, validated; names must differ across them.

    Raises:
        InvalidInput, Conflict: naming the file and the job.
    """
    specs: list[JobSpec] = []
    for path in files:
        text = sys.stdin.read() if path == "-" else None
        specs += specs_of(path, read_file(path, text), now=now)
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise Conflict(f"job {spec.name!r} is given twice", hint="names must differ")
        seen.add(spec.name)
    return specs


async def send(
    home: Home, url: str | None, specs: list[JobSpec], dry_run: bool, atomic: bool
) -> list[Any]:
    """The ``job.create_many`` answers for ``specs`` (apply mode), in their order.

    Raises:
        Refused: ``too_large`` when ``atomic`` and the specs need several calls, or one
            spec alone exceeds the daemon's frame limit; as :func:`_send`.
    """
    async with connect(home, url) as conn:
        hello = await conn.call(methods.SYSTEM_HELLO, {})
        limit = int(hello.get("max_message_bytes") or DEFAULT_MESSAGE_BYTES)
        wired = [wire.unstructure(s) for s in specs]
        plan = apply_split.split(wired, apply_split.budget_of(limit))
        if atomic:
            apply_split.refuse_atomic(plan, limit)
        kw = {"dry_run": dry_run, "atomic": atomic}
        answers: list[Any] = [None] * len(specs)
        for call in plan.calls:
            got = await _send(conn, [wired[i] for i in call], kw)
            for index, answer in zip(call, got, strict=True):
                answers[index] = answer
        return answers


async def _send(conn: Any, specs: list[Any], kw: dict[str, Any]) -> list[Any]:
    """One call; on a rate-limit refusal, halves (over the burst) or waits, then again."""
    params = {"specs": specs, "mode": "apply", **kw}
    while True:
        try:
            answer: dict[str, Any] = await conn.call(methods.JOB_CREATE_MANY, params)
            return list(answer["jobs"])
        except Refused as exc:
            if exc.reason != "rate_limited" or kw.get("atomic"):
                raise
            if exc.retry_after is None and len(specs) > 1:
                half = len(specs) // 2
                return await _send(conn, specs[:half], kw) + await _send(conn, specs[half:], kw)
            if exc.retry_after is None or exc.retry_after > MAX_WAIT:
                raise
            click.echo(f"rate limited: waiting {exc.retry_after:g}s", err=True)
            await trio.sleep(exc.retry_after)


def line(job: dict[str, Any], dry_run: bool) -> str:
    """``job/NAME RESULT`` with the id and next fire (or what holds it), or the error."""
    head = f"job/{job['name']} {job['result']}{' (dry run)' if dry_run else ''}"
    error = job.get("error")
    if error:
        return f"{head}: {error['message']}"
    if job["result"] == "skipped":
        return f"{head}: another job of the call was refused (--atomic)"
    parts = [f"id {job['id']}"] if job.get("id") else []
    if job.get("hold"):
        parts.append(str(job["hold"]))
    elif job.get("next_fire_at"):
        parts.append(f"next fire {local_time(job['next_fire_at'])}")
    return f"{head} ({', '.join(parts)})" if parts else head


def summary(jobs: list[dict[str, Any]], dry_run: bool) -> str:
    counts = {name: sum(j["result"] == name for j in jobs) for name in COUNTS}
    shown = [f"{n} {name}" for name, n in counts.items() if n or name != "skipped"]
    return ("would be: " if dry_run else "") + ", ".join(shown)


def exit_code(jobs: list[dict[str, Any]]) -> int:
    """0 when nothing was refused, else the first refusal's exit code (2, 3 or 4)."""
    for job in jobs:
        if job.get("error"):
            return from_wire(job["error"]).exit_code
    return 0


@click.command("apply")
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    required=True,
    metavar="FILE",
    help="jobs file: .yaml/.yml, .json or .toml ('-': YAML or JSON on stdin); repeatable",
)
@click.option("--dry-run", is_flag=True, help="say what would change; write nothing")
@click.option("--atomic", is_flag=True, help="change nothing unless every job is accepted")
@client_options
@reports_errors
def apply(
    files: tuple[str, ...],
    dry_run: bool,
    atomic: bool,
    home: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Create or update the jobs of FILE, idempotent by name (like kubectl apply)."""
    specs = load(files, datetime.now(UTC).replace(microsecond=0))
    jobs = run(send, home_of(home), url, specs, dry_run, atomic)
    if as_json:
        counts = {name: sum(j["result"] == name for j in jobs) for name in COUNTS}
        click.echo(json.dumps({"jobs": jobs, "dry_run": dry_run, **counts}, indent=2))
    else:
        for job in jobs:
            click.echo(line(job, dry_run))
        click.echo(summary(jobs, dry_run))
    sys.exit(exit_code(jobs))
