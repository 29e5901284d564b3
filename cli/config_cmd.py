"""``gnomon config show [--json]`` (alias ``gnomon config scheduler``): every effective
value and where it came from (CONTRACT §1)."""

from __future__ import annotations

import os

import click
from rich.table import Table

from gnomon.cli.output import home_of, home_option, out, print_json, reports_errors
from gnomon.runtime.config import load_config


@click.group("config")
def config() -> None:
    """Show the effective configuration."""


@config.command("show")
@home_option
@click.option("--json", "as_json", is_flag=True, help="machine output")
@reports_errors
def show(home: str | None, as_json: bool) -> None:
    """Every config value, its source (default, file, env, flag) and meaning."""
    cfg = load_config(home_of(home).config_toml, os.environ)
    rows = cfg.rows()
    if as_json:
        print_json(
            [
                {
                    "key": s.key.name,
                    "value": s.shown(),
                    "source": s.source,
                    "env": s.key.env,
                    "doc": s.key.doc,
                }
                for s in rows
            ]
        )
        return
    table = Table(box=None, pad_edge=False)
    for column in ("KEY", "VALUE", "SOURCE", "MEANING"):
        table.add_column(column)
    for s in rows:
        table.add_row(s.key.name, s.shown(), s.source, s.key.doc)
    out.print(table)


config.add_command(show, "scheduler")
