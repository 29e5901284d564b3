"""Failure behaviour of cluster members in real processes on a real PostgreSQL
(docs/cluster.md): a SIGKILLed node's partitions are taken over once its lease expires; a
node that loses the database fences itself (and kills its process groups) before anyone
else may take over, and rejoins when the database is back. Skipped without a server."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from support.pgkit import fresh_database
from support.tcp_proxy import Proxy

psycopg = pytest.importorskip("psycopg")

from gnomon.runtime import procs  # noqa: E402
from gnomon.runtime.cluster import sql  # noqa: E402
from gnomon.runtime.cluster.core import DEFAULT_PARTITIONS, LeaseTimes  # noqa: E402

pytestmark = pytest.mark.slow
NODE = Path(__file__).resolve().parents[1] / "support" / "cluster_node.py"
TIMES = LeaseTimes()


class Node:
    """A ``cluster_node.py`` process and the JSON lines it printed."""

    def __init__(self, url: str, name: str, *, child: bool = False) -> None:
        args = [sys.executable, str(NODE), url, name, *(["--child"] if child else [])]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.log: list[str] = []  # its log lines (stderr), for a failure's report
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))
            else:
                self.log.append(line)

    def wait_for(self, event: str, limit: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        while True:
            item = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            self.seen.append(item)
            if item["event"] == event:
                return item

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for item in self.seen + list(self.lines.queue):  # a child left by a failed test
            if item["event"] == "child" and procs.group_alive(item["pid"]):
                os.killpg(item["pid"], signal.SIGKILL)
        self.reader.join(5)
        assert self.proc.stdout is not None
        if not self.reader.is_alive():
            self.proc.stdout.close()
        print(f"--- node log ({self.proc.args[3]}):\n{''.join(self.log)}")  # shown on failure


@pytest.fixture
def db() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for node in started:
        node.stop()


def owners(url: str) -> dict[int, tuple[str | None, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT p, owner_boot, epoch FROM cluster_partitions").fetchall()
    return {p: (owner, epoch) for p, owner, epoch in rows}


def poll(check: Callable[[], bool], limit: float = 15.0) -> float:
    """Poll every 10 ms; the ``time.time()`` at which ``check()`` first held."""
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)
    return time.time()


def split(url: str, boots: set[str]) -> bool:
    held = [owner for owner, _ in owners(url).values()]
    return all(owner in boots for owner in held) and all(
        held.count(b) == DEFAULT_PARTITIONS // len(boots) for b in boots
    )


def test_a_sigkilled_nodes_partitions_are_taken_over_when_its_lease_expires(
    db: str, nodes: list[Node]
) -> None:
    url = db
    a, b = Node(url, "a"), Node(url, "b")
    nodes += [a, b]
    boot_a, boot_b = a.wait_for("ready")["boot_id"], b.wait_for("ready")["boot_id"]
    poll(lambda: split(url, {boot_a, boot_b}))
    before = owners(url)
    of_a = {p for p, (owner, _) in before.items() if owner == boot_a}

    killed = time.time()
    os.kill(a.proc.pid, signal.SIGKILL)
    taken = poll(lambda: all(owner == boot_b for owner, _ in owners(url).values()))
    print(f"SIGKILL takeover of {len(of_a)} partitions: {taken - killed:.2f}s")
    assert taken - killed < TIMES.ttl + 2 * TIMES.beat
    after = owners(url)
    assert all(after[p][1] == before[p][1] + 1 for p in of_a)  # a new epoch each
    with psycopg.connect(url) as conn, pytest.raises(sql.Fenced):  # a's late write
        sql.cluster_fence(conn, boot_a, {p: before[p][1] for p in of_a})


def test_a_node_cut_from_the_database_fences_itself_before_takeover_then_rejoins(
    db: str, nodes: list[Node]
) -> None:
    server = urlsplit(db)
    proxy = Proxy(server.hostname or "127.0.0.1", server.port or 5432)
    try:
        via = server._replace(netloc=f"{server.username}@127.0.0.1:{proxy.port}")
        a = Node(urlunsplit(via), "a", child=True)
        url = db
        b = Node(url, "b")
        nodes += [a, b]
        child = a.wait_for("child")["pid"]
        boot_a, boot_b = a.wait_for("ready")["boot_id"], b.wait_for("ready")["boot_id"]
        poll(lambda: split(url, {boot_a, boot_b}))
        assert procs.group_alive(child)

        proxy.cut()
        cut = time.time()
        fenced = a.wait_for("fenced")["t"]
        killed = poll(lambda: not procs.group_alive(child), limit=2.0)
        assert any(owner == boot_a for owner, _ in owners(url).values())  # not taken yet
        taken = poll(lambda: all(owner == boot_b for owner, _ in owners(url).values()))
        print(
            f"database cut: a fenced after {fenced - cut:.2f}s, its process group gone after"
            f" {killed - cut:.2f}s, b took over after {taken - cut:.2f}s"
        )
        assert fenced - cut < TIMES.ttl - TIMES.margin + TIMES.beat + 0.5
        assert fenced < taken
        assert killed < taken

        time.sleep(max(0.0, cut + 10 - time.time()))  # ten seconds away
        proxy.restore()
        back = time.time()
        rejoined = poll(lambda: split(url, {boot_a, boot_b}))
        print(f"database back: partitions split again after {rejoined - back:.2f}s")
        assert rejoined - back < 10
    finally:
        proxy.close()


def test_a_frozen_node_fences_itself_as_it_wakes_after_losing_its_partitions(
    db: str, nodes: list[Node]
) -> None:
    """SIGSTOP past the TTL (a slow node, not a dead one): the other node takes over; on
    SIGCONT the frozen one fences itself and kills its process group before anything
    else, then rejoins at new epochs."""
    a, b = Node(db, "a", child=True), Node(db, "b")
    nodes += [a, b]
    child = a.wait_for("child")["pid"]
    boot_a, boot_b = a.wait_for("ready")["boot_id"], b.wait_for("ready")["boot_id"]
    poll(lambda: split(db, {boot_a, boot_b}))
    before = owners(db)

    os.kill(a.proc.pid, signal.SIGSTOP)
    poll(lambda: all(owner == boot_b for owner, _ in owners(db).values()))
    os.kill(a.proc.pid, signal.SIGCONT)
    a.wait_for("fenced", limit=2.0)  # at once: its lease ran out while it was frozen
    poll(lambda: not procs.group_alive(child), limit=2.0)
    poll(lambda: split(db, {boot_a, boot_b}))  # back, at new epochs
    after = owners(db)
    assert all(after[p][1] > before[p][1] for p, (o, _) in after.items() if o == boot_a)
