"""``gnomon jobs backfill REF --from T1 --to T2 [--max-parallel N]``: run a recurring
job once for every slot it had in a range (method ``job.backfill``, see
actors/schedule_methods.py).

The command asks the daemon for the plan first (a dry run: which slots are still to fire,
which were claimed before, which an exclusion calendar covers), then fires the slots to
fire ``--max-parallel`` at a time, printing each as it ends. Ctrl-C stops it: no further
slot starts (fires already started run to their end); the same command again continues
where it stopped, since fired slots are claimed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import trio

from gnomon.cli.client import connect
from gnomon.cli.output import client_options, home_of, print_json, reports_errors
from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.times import detect_local_zone, parse_time


def _when(text: str, flag: str, now: datetime) -> datetime:
    try:
        return parse_time(text, now=now, tz=detect_local_zone())
    except InvalidInput as exc:
        exc.message = f"{flag}: {exc.message}"
        exc.args = (exc.message,)
        raise


def _line(slot: dict[str, Any]) -> str:
    extra = slot.get("outcome") or slot.get("calendar") or slot.get("message") or ""
    status = slot["status"] if slot["status"] != "excluded" else "excluded:"
    return f"  {slot['slot']}  {status} {extra}".rstrip()


async def _run(
    home: Any, url: str | None, params: dict[str, Any], as_json: bool, dry_run: bool
) -> list[dict[str, Any]]:
    async with connect(home, url) as client:
        plan = await client.call(names.JOB_BACKFILL, {**params, "dry_run": True})
        slots: list[dict[str, Any]] = plan["slots"]
        todo = [s for s in slots if s["status"] == "pending"]
        if not as_json:
            done = len(slots) - len(todo)
            click.echo(
                f"{plan['name']}: {len(slots)} slot(s) in range, {len(todo)} to fire, "
                f"{done} already claimed or excluded"
            )
            for s in slots:
                if s["status"] != "pending" or dry_run:
                    click.echo(_line(s))
        if dry_run:
            return slots
        out = [s for s in slots if s["status"] != "pending"]
        width = params["max_parallel"]
        for start in range(0, len(todo), width):
            chunk = todo[start : start + width]
            part = {**params, "start": chunk[0]["slot"], "end": chunk[-1]["slot"]}
            result = await client.call(names.JOB_BACKFILL, part)
            fired = [s for s in result["slots"] if s["status"] in ("fired", "refused")]
            out += fired
            if not as_json:
                for s in fired:
                    click.echo(f"[{len(out) - len(slots) + len(todo)}/{len(todo)}]{_line(s)}")
        return out


@click.command("backfill")
@click.argument("ref")
@click.option("--from", "from_", required=True, metavar="TIME", help="first instant of the range")
@click.option("--to", "to", required=True, metavar="TIME", help="last instant of the range")
@click.option("--max-parallel", default=1, type=click.IntRange(1, 64), help="fires at once (1)")
@click.option("--dry-run", is_flag=True, help="list the slots; fire nothing")
@client_options
@reports_errors
def backfill(
    ref: str,
    from_: str,
    to: str,
    max_parallel: int,
    dry_run: bool,
    home: str | None,
    url: str | None,
    as_json: bool,
) -> None:
    """Run job REF once for each of its slots from --from to --to not yet fired."""
    now = datetime.now(UTC)
    params = {
        "ref": ref,
        "start": _when(from_, "--from", now).isoformat(),
        "end": _when(to, "--to", now).isoformat(),
        "max_parallel": max_parallel,
    }
    try:
        slots = trio.run(_run, home_of(home), url, params, as_json, dry_run)
    except KeyboardInterrupt:
        click.echo(
            "backfill stopped: no further slot starts; the same command continues it", err=True
        )
        raise SystemExit(130) from None
    if as_json:
        print_json({"slots": slots})
    elif not dry_run:
        fired = sum(1 for s in slots if s["status"] == "fired")
        click.echo(f"✔ {fired} slot(s) fired")
