"""Two clustered daemons on one fresh PostgreSQL database, for the tests of what is
global in a cluster (docs/cluster.md)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon, until


def ok(home: Path, *args: str) -> Result:
    result = gnomon(home, *args)
    assert result.code == 0, f"gnomon {' '.join(args)} → {result.code}: {result.err}"
    return result


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


class Pair:
    """Two clustered daemons, ``a`` and ``b``, on one fresh database."""

    def __init__(self, root: Path, url: str, config: str = "") -> None:
        self.url = url
        self.a_home, self.b_home = root / "a", root / "b"
        for home in (self.a_home, self.b_home):
            home.mkdir()
            (home / "config.toml").write_text(config)
        self.a = RealDaemon.start(
            self.a_home,
            "--store",
            url,
            "--cluster",
            env=cli_env(self.a_home, GNOMON_CLUSTER_NODE="node-a"),
        )
        shutil.copy(self.a_home / "audit.key", self.b_home / "audit.key")
        self.b = RealDaemon.start(
            self.b_home,
            "--store",
            url,
            "--cluster",
            env=cli_env(self.b_home, GNOMON_CLUSTER_NODE="node-b"),
        )
        until(lambda: self.held() == {"node-a": 32, "node-b": 32}, "an even split")

    def held(self) -> dict[str, int]:
        nodes = ok(self.a_home, "nodes", "--json").json()["nodes"]
        return {n["node"]: n["partitions"] for n in nodes if n["live"]}

    def status(self, name: str) -> str:
        rows = query(self.url, "SELECT status FROM jobs WHERE name = %s", name)
        return str(rows[-1][0])

    def stop(self) -> None:
        self.a.kill()
        self.b.kill()
