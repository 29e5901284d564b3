"""``gnomon config show [--json]`` (alias ``gnomon config scheduler``): every effective
value and where it came from (docs/operations.md).

When a daemon runs for the home, its values are shown (``config.get``): they are the
ones in force, including the environment it was started with. Otherwise the values a
daemon started from this shell would get.
"""

from __future__ import annotations

import os
from typing import Any

import click
import trio

from gnomon.cli.client import connect
from gnomon.cli.output import home_of, home_option, output_option, print_json, reports_errors
from gnomon.cli.table import Column, emit
from gnomon.runtime.config import KEYS, load_config
from gnomon.runtime.errors import DaemonUnreachable
from gnomon.runtime.home import Home


@click.group("config")
def config() -> None:
    """Show the effective configuration."""


@config.command("show")
@home_option
@click.option("--json", "as_json", is_flag=True, help="machine output")
@output_option
@reports_errors
def show(home: str | None, as_json: bool, wide: bool) -> None:
    """Every config value, its source (default, file, env, flag) and meaning — the running
    daemon's when one runs, else what a daemon started from this shell would use."""
    where = home_of(home)
    rows = _daemon_rows(where)
    caption = "the running daemon's configuration"
    if rows is None:
        rows = _local_rows(where)
        caption = "no daemon running: the configuration a daemon started here would use"
    if as_json:
        print_json(rows)
        return
    click.echo(caption)
    emit(CONFIG_COLUMNS, [[r["key"], r["value"], r["source"], r["doc"]] for r in rows], wide=wide)


CONFIG_COLUMNS = (
    Column("KEY"),
    Column("VALUE", flex=1),
    Column("SOURCE"),
    Column("MEANING", flex=2),
)


def _row(key: str, value: str, source: str, doc: str) -> dict[str, Any]:
    env = KEYS[key].env if key in KEYS else ""
    return {"key": key, "value": value, "source": source, "env": env, "doc": doc}


def _local_rows(home: Home) -> list[dict[str, Any]]:
    cfg = load_config(home.config_toml, os.environ)
    return [_row(s.key.name, s.shown(), s.source, s.key.doc) for s in cfg.rows()]


def _daemon_rows(home: Home) -> list[dict[str, Any]] | None:
    """The running daemon's rows (``config.get``), or ``None`` when none answers."""

    async def ask() -> Any:
        async with connect(home, start=False) as client:
            return await client.call("config.get", {})

    try:
        found = trio.run(ask)
    except DaemonUnreachable:
        return None
    return [_row(r["key"], r["value"], r["source"], r["doc"]) for r in found]


config.add_command(show, "scheduler")
