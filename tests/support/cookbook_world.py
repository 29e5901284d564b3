"""The world the cookbook's recipes run in: a real daemon, the real CLI, local servers.

The hosts and paths the cookbook names are mapped to local stand-ins by
:func:`substitutions` (the documented table of the cookbook test); the fake ``terraform``,
``kubectl`` and ``docker`` of ``tests/support/bin`` answer from :data:`FAKE_FIXTURES`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs
from support.cookbook_doc import COOKBOOK, parse, substitute, tagged_blocks
from support.daemon_proc import PY, RealDaemon, Result, cli_env, until

__all__ = ["PY", "Result"]
from support.exec_io import FAKE_BIN
from support.local_http import LocalHTTPServer, OpenAIStub, Recorded, Reply

#: Fast enough for tests, generous enough that no documented recipe hits them.
HIGH_LIMITS = {
    "GNOMON_LIMITS_OWNER_RPS": "1000",
    "GNOMON_LIMITS_OWNER_BURST": "1000",
    "GNOMON_LIMITS_GLOBAL_RPS": "1000",
    "GNOMON_LIMITS_GLOBAL_BURST": "1000",
    "GNOMON_LIMITS_MIN_INTERVAL": "100ms",  # the recipes' intervals, shortened
}


def k8s_deployment(name: str, available: bool) -> str:
    """``kubectl get deployment NAME -o json`` output with the ``Available`` condition."""
    status = "True" if available else "False"
    doc = {
        "metadata": {"name": name},
        "status": {"conditions": [{"type": "Available", "status": status}]},
    }
    return json.dumps(doc)


def fake_fixtures(api_available: bool) -> dict[str, object]:
    """What the fake terraform, kubectl and docker answer (first matching rule wins)."""
    health = {"Running": True, "Status": "running", "Health": {"Status": "healthy"}}
    wide = (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\napi    3/3     3            3           2m\n"
    )
    return {
        "terraform": [
            {"when": ["apply"], "stdout": "Apply complete! Resources: 3 added, 0 changed.\n"}
        ],
        "kubectl": [
            {"when": ["get", "deployment", "api", "wide"], "stdout": wide},
            {"when": ["get", "deployment", "api"], "stdout": k8s_deployment("api", api_available)},
            {"when": ["apply", "-f"], "stdout": "deployment.apps/api configured\n"},
        ],
        "docker": [
            {"when": ["compose", "up"], "stdout": "Container shop-web  Started\n"},
            {"when": ["inspect", "shop-web"], "stdout": f"/shop-web\t{json.dumps(health)}\n"},
        ],
    }


class Counting:
    """A route answering ``first`` ``times`` times per path, then ``then``."""

    def __init__(self, answers: Mapping[str, tuple[int, int, int]]) -> None:
        self.answers = answers  # path → (first status, how many times, then status)
        self.seen: dict[str, int] = {}

    def __call__(self, rec: Recorded) -> Reply:
        path = rec.path.split("?")[0]
        first, times, then = self.answers.get(path, (404, 0, 404))
        n = self.seen.get(path, 0)
        self.seen[path] = n + 1
        return Reply(first if n < times else then, b"ok")


def free_port() -> int:
    """A loopback port nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.define
class Servers:
    """Local stand-ins for the hosts the cookbook names."""

    app: LocalHTTPServer  # http://localhost:8080 (recipe 2)
    canary: LocalHTTPServer  # https://canary.example.com (recipe 5)
    api: LocalHTTPServer  # https://api.example.com (recipe 8)
    staging: LocalHTTPServer  # https://staging.example.com (recipe 9)
    ci: LocalHTTPServer  # https://ci.example.com (recipe 6)
    hooks: LocalHTTPServer  # https://hooks.slack.com (recipes 4, 5)
    llm: LocalHTTPServer  # https://llm.internal/v1 (recipe 7), a stub that hangs
    db_port: int  # db.internal:5432 (recipe 4), closed until the test opens it

    @classmethod
    def open(cls, stack: ExitStack) -> Servers:
        """Start every server; ``stack`` stops them."""

        def serve(route: Callable[[Recorded], Reply]) -> LocalHTTPServer:
            return stack.enter_context(LocalHTTPServer(route))

        return cls(
            app=serve(Counting({"/healthz": (503, 2, 200), "/smoke": (200, 0, 200)})),
            canary=serve(Counting({"/smoke": (500, 0, 500)})),
            api=serve(Counting({"/healthz": (503, 0, 503)})),
            staging=serve(Counting({"/load": (200, 0, 200)})),
            ci=serve(Counting({"/builds/981": (200, 0, 200)})),
            hooks=serve(lambda rec: Reply(200, b"ok")),
            llm=serve(OpenAIStub(hang=True)),
            db_port=free_port(),
        )


def substitutions(s: Servers, tmp: Path) -> list[tuple[str, str]]:
    """The cookbook's hosts, paths and minute-scale intervals → this test's stand-ins."""
    return [
        # hosts → local servers
        ("https://hooks.slack.com", s.hooks.url),
        ("http://localhost:8080", s.app.url),
        ("https://canary.example.com", s.canary.url),
        ("https://api.example.com", s.api.url),
        ("https://staging.example.com", s.staging.url),
        ("https://ci.example.com", s.ci.url),
        ("https://llm.internal/v1", f"{s.llm.url}/v1"),
        ("db.internal:5432", f"127.0.0.1:{s.db_port}"),
        # paths → the test's directory
        ("/var/backups", str(tmp / "backups")),
        ("/srv/site", str(tmp / "site")),
        ("/srv/ci", str(tmp / "ci")),
        # intervals and caps → seconds (recipes 1, 2, 4, 7, 8)
        ("--poll 10s", "--poll 1s"),
        ("--poll 2s", "--poll 1s"),
        ("--every 5s", "--every 1s"),
        ("--every 30s", "--every 500ms"),
        ("--timeout 2m", "--timeout 2s"),
        ("--backoff 10s", "--backoff 1s"),
    ]


@attrs.define
class World:
    """One daemon and the CLI runner of the cookbook's blocks against it."""

    tmp: Path
    home: Path
    servers: Servers
    base_env: dict[str, str]
    daemon: RealDaemon | None = None
    #: A cluster's other nodes (their homes and daemons); the CLI's calls go to every node
    #: in turn, so a job made through one node is read and driven through the other.
    peers: list[RealDaemon] = attrs.field(factory=list)
    _calls: int = 0
    #: The cluster's database, and the one home every call goes to while set (``only_on``).
    store_url: str = ""
    _pinned: Path | None = None

    @property
    def fixtures_file(self) -> Path:
        return self.tmp / "fixtures.json"

    def set_fixtures(self, fixtures: Mapping[str, object]) -> None:
        """What the fake CLIs answer from now on (they read the file on every call)."""
        self.fixtures_file.write_text(json.dumps(fixtures))

    def start(self, extra_env: Mapping[str, str] | None = None) -> RealDaemon:
        """Start this world's daemon with the fake tools on its PATH and ``extra_env``."""
        env = cli_env(self.home, **{**self.base_env, **dict(extra_env or {})})
        self.daemon = RealDaemon.start(self.home, env=env)
        return self.daemon

    def start_cluster(self, url: str, nodes: int = 2) -> RealDaemon:
        """This world's daemon and ``nodes - 1`` more, clustered on the database ``url``
        (docs/cluster.md: one ``audit.key``, a home each)."""
        args = ("--store", url, "--cluster")
        self.store_url = url
        env = cli_env(self.home, GNOMON_CLUSTER_NODE="n0", **self.base_env)
        self.daemon = RealDaemon.start(self.home, *args, env=env)
        try:
            for n in range(1, nodes):
                home = self.home.with_name(f"{self.home.name}-n{n}")
                home.mkdir()
                shutil.copy(self.home / "audit.key", home / "audit.key")
                peer_env = cli_env(home, GNOMON_CLUSTER_NODE=f"n{n}", **self.base_env)
                self.peers.append(RealDaemon.start(home, *args, env=peer_env))
        except BaseException:  # a node that did not start: the started ones go too (a
            for daemon in [*self.peers, self.daemon]:  # Popen left running fails a later
                daemon.kill()  # test with its ResourceWarning)
            self.peers.clear()
            raise
        return self.daemon

    def stop(self) -> None:
        """Stop every node of this world."""
        for daemon in [*self.peers, *([self.daemon] if self.daemon else [])]:
            daemon.stop()

    def owner_home(self, job_id: str) -> Path:
        """The home of the node holding ``job_id``'s partition (this home off a cluster)."""
        if not self.peers:
            return self.home
        import psycopg

        from gnomon.runtime.cluster.core import partition_of

        with psycopg.connect(self.store_url) as conn:
            (count,) = conn.execute("SELECT count(*) FROM cluster_partitions").fetchone() or (1,)
            p = partition_of(job_id, int(count))
            (node,) = conn.execute(
                "SELECT n.node FROM cluster_partitions pt JOIN cluster_nodes n"
                " ON n.boot_id = pt.owner_boot WHERE pt.p = %s",
                (p,),
            ).fetchone() or ("n0",)
        return self.home if node == "n0" else self.home.with_name(f"{self.home.name}-{node}")

    @contextlib.contextmanager
    def only_on(self, home: Path) -> Iterator[None]:
        """Every call of the block goes to ``home`` (what a cluster keeps per node)."""
        self._pinned = home
        try:
            yield
        finally:
            self._pinned = None

    def _next_home(self) -> Path:
        if self._pinned is not None:
            return self._pinned
        homes = [self.home, *(p.home for p in self.peers)]
        self._calls += 1
        return homes[self._calls % len(homes)]

    def lines(self, tag: str, **values: str) -> list[str]:
        """The block ``tag`` of the cookbook, substituted for this world (and ``$NAME``
        replaced by ``values[NAME]``)."""
        table = substitutions(self.servers, self.tmp) + [(f"${k}", v) for k, v in values.items()]
        return [substitute(line, table) for line in blocks()[tag]]

    def document(self, tag: str, **values: str) -> Any:
        """The ```` ```json TAG ```` block of the cookbook, substituted and parsed."""
        table = substitutions(self.servers, self.tmp) + [(f"${k}", v) for k, v in values.items()]
        raw = "\n".join(tagged_blocks(COOKBOOK.read_text(), "json")[tag])
        return json.loads(substitute(raw, table))

    def gnomon(self, *argv: str, env: Mapping[str, str] | None = None) -> Result:
        """Run the real CLI in the test's directory against this world's home (in a
        cluster: the next node's, in turn, whatever the command — tokens, the agents'
        switch, calendars and the shell policy are the cluster's, docs/cluster.md)."""
        return self._on(self._next_home(), argv, env)

    def _on(self, home: Path, argv: Sequence[str], env: Mapping[str, str] | None) -> Result:
        full = cli_env(home, **{**self.base_env, **dict(env or {})})
        proc = subprocess.run(
            [PY, "-m", "gnomon.cli", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=full,
            cwd=self.tmp,
            stdin=subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def run(self, tag: str, codes: Mapping[int, int] | None = None, **values: str) -> list[Result]:
        """Run every command of block ``tag``; each must exit 0 (or ``codes[i]``)."""
        results = []
        for i, line in enumerate(self.lines(tag, **values)):
            cmd = parse(line)
            result = self.gnomon(*cmd.argv, env=cmd.env)
            want = (codes or {}).get(i, 0)
            assert result.code == want, f"{line}\nexit {result.code}\n{result.out}{result.err}"
            results.append(result)
        return results

    def job(self, ref: str) -> dict[str, Any]:
        """``gnomon jobs show REF --json``."""
        result = self.gnomon("jobs", "show", ref, "--json")
        assert result.code == 0, result.err
        value: dict[str, Any] = result.json()
        return value

    def events(self, ref: str) -> list[dict[str, Any]]:
        """``gnomon events --job REF --json``, one dict per event."""
        result = self.gnomon("events", "--job", ref, "--json")
        assert result.code == 0, result.err
        return [json.loads(line) for line in result.out.splitlines() if line.strip()]

    def until_status(self, ref: str, *statuses: str, limit: float = 30) -> dict[str, Any]:
        """Poll ``jobs show`` until the job's status is one of ``statuses``; the job."""
        job: dict[str, Any] = until(
            lambda: (j := self.job(ref))["status"] in statuses and j,
            f"{ref} reaches {'/'.join(statuses)}",
            limit,
        )
        return job


def blocks() -> dict[str, list[str]]:
    """Every tagged block of docs/cookbook.md."""
    return tagged_blocks(COOKBOOK.read_text())


def world_env(tmp: Path) -> dict[str, str]:
    """The fake tools first on PATH, their fixtures and log, and high admission limits."""
    return {
        "PATH": f"{FAKE_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "GNOMON_FAKE_FIXTURES": str(tmp / "fixtures.json"),
        "GNOMON_FAKE_LOG": str(tmp / "argv.jsonl"),
        **HIGH_LIMITS,
    }


def make_world(tmp: Path, servers: Servers, name: str) -> World:
    """A world with its own home ``tmp/name`` (the daemon is not started yet)."""
    tmp.mkdir(parents=True, exist_ok=True)
    for folder in ("backups", "site", "ci"):
        (tmp / folder).mkdir(exist_ok=True)
    world = World(tmp=tmp, home=tmp / name, servers=servers, base_env=world_env(tmp))
    world.set_fixtures(fake_fixtures(api_available=False))
    return world


def stopped(world: World) -> Iterator[None]:
    """Stop the world's daemon when the generator closes (for fixtures)."""
    try:
        yield
    finally:
        world.stop()
