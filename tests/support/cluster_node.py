"""One cluster member in a process of its own, for the cluster tests.

``python cluster_node.py DSN NODE [--child]`` runs a :class:`Membership` and prints one
JSON line per happening on stdout (``ready``, ``acquired``, ``releasing``, ``fenced``,
``child``), each with ``t`` = ``time.time()``. SIGTERM is a graceful stop (hand-over);
``--child`` starts ``sleep 600`` in a process group of its own, as a job's run would be.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

import trio

from gnomon.runtime.cluster.membership import Membership


def say(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, "t": time.time(), **data}), flush=True)


async def main(dsn: str, node: str, child: bool) -> None:
    async def acquired(ps: Mapping[int, int]) -> None:
        say("acquired", partitions=sorted(ps))

    async def releasing(ps: frozenset[int]) -> None:
        say("releasing", partitions=sorted(ps))

    async def fenced() -> None:
        say("fenced")

    member = Membership(
        dsn, node=node, on_acquired=acquired, on_releasing=releasing, on_fenced=fenced
    )
    if child:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before the trio work
            ["sleep", "600"],
            start_new_session=True,
            stdout=subprocess.DEVNULL,  # never holds the test's pipe open
            stderr=subprocess.DEVNULL,
        )
        say("child", pid=proc.pid)
    async with trio.open_nursery() as nursery:
        await nursery.start(member.run)
        say("ready", boot_id=member.boot_id, held=sorted(member.held))
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async for _ in signals:
                break
        nursery.cancel_scope.cancel()
    say("stopped")


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2], "--child" in sys.argv)
