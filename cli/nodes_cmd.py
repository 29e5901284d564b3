"""``gnomon nodes``: the cluster's members with lease age and partitions (docs/cluster.md)."""

from __future__ import annotations

from typing import Any

import click

from gnomon.cli.client import request
from gnomon.cli.output import home_of, print_json, reports_errors, table_options
from gnomon.cli.table import Cell, Column, emit
from gnomon.runtime import protocol_names as methods

COLUMNS = (
    Column("NODE", flex=1),
    Column("STATUS"),
    Column("PARTITIONS", right=True),
    Column("LEASE AGE", right=True),
    Column("LEASE LEFT", right=True),
    Column("HOST", flex=1, wide=True),
    Column("PID", right=True, wide=True),
    Column("BOOT", wide=True),
    Column("URL", flex=1, wide=True),
)


def node_rows(nodes: list[dict[str, Any]]) -> list[list[Any]]:
    """One table row per member; the answering daemon is marked ``*``."""
    return [
        [
            n["node"] + (" *" if n.get("this") else ""),
            Cell("live", "green") if n["live"] else Cell("expired", "bold red"),
            str(n["partitions"]),
            f"{n['lease_age']:.1f}s",
            f"{n['lease_left']:.1f}s",
            n["host"],
            str(n["pid"]),
            n["boot_id"][:12],
            n.get("url") or "",
        ]
        for n in nodes
    ]


@click.command("nodes")
@table_options
@reports_errors
def nodes(home: str | None, url: str | None, as_json: bool, wide: bool) -> None:
    """Cluster members: lease age, partitions held, live or expired (* = this daemon)."""
    found = request(home_of(home), url, methods.CLUSTER_NODES, {})
    if as_json:
        print_json(found)
        return
    if not found["clustered"]:
        click.echo("not clustered: this daemon runs alone (see docs/cluster.md)")
        return
    emit(COLUMNS, node_rows(found["nodes"]), wide=wide)
    live = sum(1 for n in found["nodes"] if n["live"])
    click.echo(f"{live} live node(s), {found['partitions']} partitions")
