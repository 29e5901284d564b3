"""``gnomon daemon start|stop|status|ping|install`` (docs/commands.md)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from gnomon.cli.client import NO_DAEMON, connect
from gnomon.cli.daemon_stop import stopping_status
from gnomon.cli.output import home_of, home_option, print_json, reports_errors, run
from gnomon.runtime import daemonctl
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.config import load_config
from gnomon.runtime.errors import DaemonUnreachable, NotFound, StoreUnavailable
from gnomon.runtime.home import Home

START_TIMEOUT = 20.0


@click.group("daemon")
def daemon() -> None:
    """Run and control the gnomon daemon."""


def _running(home: Home) -> dict[str, Any] | None:
    info = home.read_daemon_json()
    if info is None or not daemonctl.pid_alive(int(info.get("pid", 0))):
        return None
    return info


@daemon.command("start")
@home_option
@click.option("--detach", is_flag=True, help="run in the background; return once it answers")
@click.option("--host", help="bind address (127.0.0.1)")
@click.option("--port", type=click.IntRange(0, 65535), help="port (8765; 0 picks one)")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="certificate (PEM)")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="private key (PEM)")
@click.option("--insecure-bind", is_flag=True, help="allow a non-loopback bind without TLS")
@click.option(
    "--new-audit-key",
    is_flag=True,
    help="key the event log anew (audit.key lost or replaced; older events lose their MACs)",
)
@click.option(
    "--store",
    metavar="URL",
    help="PostgreSQL store postgresql://USER@HOST[:PORT]/DB (config store.url, $GNOMON_STORE;"
    " default: SQLite in the home)",
)
@click.option(
    "--cluster",
    is_flag=True,
    default=None,
    help="share the --store database with other daemons (config cluster.enabled; docs/cluster.md)",
)
@reports_errors
def start(
    home: str | None,
    detach: bool,
    host: str | None,
    port: int | None,
    tls_cert: str | None,
    tls_key: str | None,
    insecure_bind: bool,
    new_audit_key: bool,
    store: str | None,
    cluster: bool | None,
) -> None:
    """Start the daemon (in the foreground unless --detach)."""
    where = home_of(home).preflight()
    flags = {
        "daemon.host": host,
        "daemon.port": port,
        "store.url": store,
        "cluster.enabled": cluster,
    }
    config = load_config(where.config_toml, os.environ, flags)
    if detach:
        extra = [
            arg
            for name, value in (
                ("--host", host),
                ("--port", port),
                ("--tls-cert", tls_cert),
                ("--tls-key", tls_key),
            )
            if value is not None
            for arg in (name, str(value))
        ]
        extra += ["--insecure-bind"] if insecure_bind else []
        extra += ["--new-audit-key"] if new_audit_key else []
        extra += ["--cluster"] if cluster else []
        _start_detached(where, extra, store=config["store.url"] if store else None)
        return
    from gnomon.runtime.daemon.options import DaemonOptions
    from gnomon.runtime.daemon.run import run_daemon

    detached = os.environ.get("GNOMON_DETACHED") == "1"  # stderr already is daemon.log
    daemonctl.setup_logging(where.log, config["log.level"], foreground=not detached)
    opts = DaemonOptions(
        home=where,
        config=config,
        tls_cert=Path(tls_cert) if tls_cert else None,
        tls_key=Path(tls_key) if tls_key else None,
        insecure_bind=insecure_bind,
        new_audit_key=new_audit_key,
    )

    def ready(info: Any) -> None:
        click.echo(
            f"gnomon daemon running (pid={info.pid}, url={info.url}); Ctrl-C stops it", err=True
        )

    run(lambda: run_daemon(opts, ready=ready))


def _start_detached(home: Home, extra: list[str], *, store: str | None = None) -> None:
    """Start a detached daemon with ``extra`` arguments; ``store`` (a ``--store`` URL) goes
    through its environment, never its command line (``ps`` would show a password)."""
    running = _running(home)
    if running is not None:
        raise DaemonUnreachable(
            f"a gnomon daemon is already running for {home.root} "
            f"(pid {running['pid']}, {running['url']})",
            hint="gnomon daemon stop, or use another --home",
        )
    env = {**os.environ, "GNOMON_DETACHED": "1"}
    if store:
        env["GNOMON_STORE_URL"] = store
    pid = daemonctl.spawn_detached(daemonctl.daemon_argv(home.root, extra), home.log, env)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        info = home.read_daemon_json()
        if info is not None and info.get("pid") == pid:
            click.echo(f"gnomon daemon started (pid={pid}, url={info['url']}, log={home.log})")
            return
        if not daemonctl.pid_alive(pid):
            break
        time.sleep(0.05)
    reason = daemonctl.start_failure(home.log)  # says what to do: one line
    if reason is None:
        raise DaemonUnreachable("the daemon exited at start", hint=f"see {home.log}")
    raise DaemonUnreachable(reason)


@daemon.command("stop")
@home_option
@click.option("--now", is_flag=True, help="interrupt running actions at once (recorded)")
@click.option("--force", is_flag=True, help="SIGKILL if it does not stop within 2 s")
@reports_errors
def stop(home: str | None, now: bool, force: bool) -> None:
    """Stop the daemon: running actions get the drain limit (none with --now), then are
    interrupted and recorded; it says what it waits for."""
    from gnomon.cli.daemon_stop import StopProgress

    where = home_of(home)
    info = _running(where)
    if info is None:
        where.remove_daemon_json()
        raise NotFound("no gnomon daemon is running for " + str(where.root))
    config = load_config(where.config_toml, os.environ)
    pid = int(info["pid"])
    progress = StopProgress(where, pid, click.echo)
    drain = config["daemon.drain_timeout"]
    result = daemonctl.stop(pid, drain=drain, force=force, now=now, tick=progress.tick)
    progress.finish()
    if result == "killed":
        where.remove_daemon_json()
    click.echo(f"gnomon daemon {result} (pid={info['pid']})")


@daemon.command("status")
@home_option
@click.option("--json", "as_json", is_flag=True, help="machine output")
@reports_errors
def status(home: str | None, as_json: bool) -> None:
    """Exit 0 and describe the daemon when it runs (``stopping`` and what it waits for
    while it drains); exit 3 when it does not; exit 5 when it runs but cannot read its
    store (a database down: the problem, and whether a cluster node fenced itself)."""
    where = home_of(home)
    info = _running(where)
    if info is None:
        if as_json:
            print_json({"running": False, "home": str(where.root)})
        else:
            click.echo(f"gnomon daemon: not running ({where.root})")
        sys.exit(3)
    stopping = where.read_stop_json(int(info["pid"]))
    if stopping is not None:  # draining: the gateway is closed, stop.json tells
        if as_json:
            print_json({"running": True, "stopping": True, **info, "stop": stopping})
        else:
            click.echo(stopping_status(int(info["pid"]), stopping))
        return

    async def stats() -> Any:
        async with connect(where, start=False) as client:
            try:
                data = await client.call(methods.SYSTEM_STATS)
            except StoreUnavailable:  # it runs, but cannot read its store: say what it can
                return None, await client.call(methods.SYSTEM_HEALTH)
            try:
                cluster = await client.call(methods.CLUSTER_NODES)
            except StoreUnavailable:  # a clustered daemon that lost its database
                cluster = {"clustered": False}
            return data, cluster

    data, cluster = run(stats)
    if data is None:
        _store_down(where, info, cluster, as_json)
    if as_json:
        print_json({"running": True, **info, "stats": data, **_cluster_json(cluster)})
        return
    jobs = ", ".join(f"{n} {s}" for s, n in sorted(data["jobs"].items())) or "none"
    click.echo(
        f"gnomon daemon: running (pid={info['pid']})\n  url     {info['url']}\n"
        f"  uptime  {data['uptime']:.0f}s\n  jobs    {jobs}\n"
        f"  events  {data['events']}\n  clients {data['connections']}\n"
        f"  store   {info.get('store') or where.db}\n"
        f"  log     {info.get('log', where.log)}" + _cluster_line(cluster)
    )


def _store_down(where: Home, info: dict[str, Any], health: dict[str, Any], as_json: bool) -> None:
    """``daemon status`` of a daemon that runs but cannot read its store (a database
    down): what it can say, then exit 5 as any call the store refuses."""
    if as_json:
        print_json({"running": True, **info, "health": health})
        sys.exit(5)
    fenced = "\n  cluster fenced: this node holds no partition (docs/cluster.md)"
    click.echo(
        f"gnomon daemon: running (pid={info['pid']}), but its store is unavailable\n"
        f"  url     {info['url']}\n  uptime  {health['uptime']:.0f}s\n"
        f"  store   {info.get('store') or where.db}\n  problem {health['reason']}\n"
        f"  log     {info.get('log', where.log)}" + (fenced if health.get("fenced") else "")
    )
    sys.exit(5)


def _cluster_json(cluster: dict[str, Any]) -> dict[str, Any]:
    """``daemon status --json``'s ``cluster`` (this node and the live count), if clustered."""
    if not cluster["clustered"]:
        return {}
    me = next((n for n in cluster["nodes"] if n.get("this")), None)
    return {
        "cluster": {
            "node": me and me["node"],
            "boot_id": me and me["boot_id"],
            "partitions": me["partitions"] if me else 0,
            "of": cluster["partitions"],
            "live_nodes": sum(1 for n in cluster["nodes"] if n["live"]),
        }
    }


def _cluster_line(cluster: dict[str, Any]) -> str:
    """``  cluster node-a: 32 of 64 partitions, 2 live node(s)``, if clustered."""
    data = _cluster_json(cluster).get("cluster")
    if data is None:
        return ""
    return (
        f"\n  cluster {data['node']}: {data['partitions']} of {data['of']} partitions,"
        f" {data['live_nodes']} live node(s) (gnomon nodes)"
    )


@daemon.command("ping")
@home_option
@click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")
@reports_errors
def ping(home: str | None, url: str | None) -> None:
    """Print pong when the daemon answers (exit 5 when it does not)."""

    async def call() -> None:
        async with connect(home_of(home), url, start=False) as client:
            await client.call(methods.SYSTEM_HEALTH)

    try:
        run(call)
    except DaemonUnreachable as exc:
        raise DaemonUnreachable(
            NO_DAEMON if "no gnomon daemon" in exc.message else exc.message
        ) from None
    click.echo("pong")


@daemon.command("install")
@home_option
def install(home: str | None) -> None:
    """Print a systemd user unit for this home."""
    click.echo(daemonctl.systemd_unit(home_of(home).root), nl=False)
