"""Real daemons for ``python -m bench.cluster``: one per home, clustered on a PostgreSQL
database (``--store URL --cluster``, each home with the first one's ``audit.key`` and its
own ``GNOMON_CLUSTER_NODE``) or a lone SQLite daemon; and reads of the store they share.

Every daemon runs with the rate limits of ``bench.wl_daemon.LIMITS`` (owner and global
creates per second and burst, and ``max_jobs``, all raised to 1,000,000) and otherwise
its defaults. A benchmark helper: nothing here asserts.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cluster_report import PARTITIONS, is_even
from bench.wl_daemon import env_for, wait_url
from gnomon.runtime.cluster.core import partition_of


@dataclass
class Node:
    """A daemon process and how to reach it."""

    name: str
    home: Path
    proc: subprocess.Popen[bytes]
    url: str = ""

    @property
    def token(self) -> str:
        return (self.home / "token").read_text().strip()


def spawn(home: Path, name: str, store: str | None) -> Node:
    """Start a foreground daemon for ``home`` (clustered on ``store`` if given); at once."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "daemon.json").unlink(missing_ok=True)
    args = ["--store", store, "--cluster"] if store else []
    env = env_for(home)
    if store:
        env["GNOMON_CLUSTER_NODE"] = name
    with open(home / "bench-daemon.out", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gnomon.cli", "daemon", "start", "--port", "0", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Node(name, home, proc)


@contextmanager
def daemons(root: Path, count: int, store: str | None) -> Iterator[list[Node]]:
    """``count`` running daemons under ``root`` (``n1``, ``n2``, …), SIGTERMed on exit.
    The first starts alone (it writes ``audit.key``), the others together after it.

    Raises:
        RuntimeError: a daemon exited or did not come up (its output attached).
    """
    nodes: list[Node] = []
    try:
        nodes.append(spawn(root / "n1", "n1", store))
        nodes[0].url = wait_url(nodes[0].home, nodes[0].proc)
        for i in range(2, count + 1):
            (root / f"n{i}").mkdir(parents=True)
            shutil.copy(root / "n1" / "audit.key", root / f"n{i}" / "audit.key")
            nodes.append(spawn(root / f"n{i}", f"n{i}", store))
        for node in nodes[1:]:
            node.url = wait_url(node.home, node.proc)
        yield nodes
    finally:
        stop(nodes)


def stop(nodes: list[Node]) -> None:
    """SIGTERM every daemon at once, then wait (SIGKILL after 60 s)."""
    for node in nodes:
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
    for node in nodes:
        try:
            node.proc.wait(60)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()


class Reader:
    """Read-only SQL on the daemons' store: a PostgreSQL URL or an SQLite file."""

    def __init__(self, where: str) -> None:
        self.conn: Any
        if where.startswith("postgresql://"):
            import psycopg

            self.conn = psycopg.connect(where, autocommit=True)
        else:
            self.conn = sqlite3.connect(f"file:{where}?mode=ro", uri=True, isolation_level=None)
        self.pg = where.startswith("postgresql://")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (no parameters: callers format only numbers into it)."""
        return list(self.conn.execute(sql).fetchall())

    def one(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def close(self) -> None:
        self.conn.close()


def claims_since(since: float, columns: str) -> str:
    """The query of ``columns`` of the slots claimed after epoch second ``since``."""
    return f"SELECT {columns} FROM fires WHERE claimed_ts > {float(since)!r}"


def split(reader: Reader) -> dict[str, int]:
    """Partitions held per live node (by the database's clock)."""
    rows = reader.rows(
        "SELECT n.node, count(p.p) FROM cluster_nodes n"
        " LEFT JOIN cluster_partitions p ON p.owner_boot = n.boot_id"
        " WHERE n.lease_until > now() GROUP BY n.node"
    )
    return {str(node): int(held) for node, held in rows}


def wait_even(reader: Reader, count: int, timeout: float = 60) -> tuple[dict[str, int], float]:
    """Poll until the partitions are split evenly; the split and the seconds it took.

    Raises:
        RuntimeError: not even within ``timeout`` (the last split attached).
    """
    started = time.monotonic()
    held: dict[str, int] = {}
    while time.monotonic() < started + timeout:
        held = split(reader)
        if is_even(held, count):
            return held, time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"partitions not split evenly over {count} node(s): {held}")


def owners(reader: Reader) -> dict[int, str]:
    """The node holding each partition now."""
    rows = reader.rows(
        "SELECT p.p, n.node FROM cluster_partitions p JOIN cluster_nodes n"
        " ON p.owner_boot = n.boot_id"
    )
    return {int(p): str(node) for p, node in rows}


def per_node(job_ids: list[str], held: dict[int, str]) -> dict[str, int]:
    """How many of ``job_ids`` fall in each node's partitions."""
    out: dict[str, int] = {}
    for job_id in job_ids:
        node = held.get(partition_of(job_id, PARTITIONS), "?")
        out[node] = out.get(node, 0) + 1
    return dict(sorted(out.items()))
