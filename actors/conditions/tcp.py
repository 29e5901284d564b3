"""The ``tcp`` evaluator: one connection attempt within the condition's timeout.

===============================  ======  =========  =======
outcome                          value   transient  breaker
===============================  ======  =========  =======
connected                        true
refused (nothing listens)        false
unreachable, DNS, timeout        error   yes        yes
bad host or port                 error   no         no
===============================  ======  =========  =======
"""

from __future__ import annotations

import errno
import ipaddress
import re
from typing import TYPE_CHECKING

import trio

from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["TcpEvaluator", "evaluator"]

_HOST = re.compile(r"^[A-Za-z0-9._:\[\]%-]{1,253}$")


def _error(summary: str, *, transient: bool, breaker: bool = False) -> Verdict:
    return Verdict(value=None, summary=summary, transient=transient, breaker_failure=breaker)


class TcpEvaluator:
    """Evaluates :class:`TcpCondition`\\ s."""

    async def evaluate(self, cond: TcpCondition, ctx: PollContext) -> Verdict:
        """One connection attempt; cancellation aborts it."""
        where = f"tcp://{cond.host}:{cond.port}"
        if not _HOST.match(cond.host):
            return _error(f"invalid host {cond.host!r}", transient=False)
        if not 1 <= cond.port <= 65535:
            return _error(f"invalid port {cond.port} (1-65535)", transient=False)
        with trio.move_on_after(cond.timeout):
            try:
                await _connect(cond.host.strip("[]"), cond.port)
            except OSError as exc:
                first: BaseException = exc
                cause = exc.__cause__
                if isinstance(cause, ExceptionGroup) and cause.exceptions:
                    first = cause.exceptions[0]
                if getattr(first, "errno", None) == errno.ECONNREFUSED:
                    # the host answered "nothing listens here": the condition is simply
                    # false (what a wait for a port expects), not a failing target
                    return Verdict(value=False, summary=f"{where}: connection refused")
                detail = getattr(first, "strerror", None) or str(first)
                return _error(f"{where}: {detail}", transient=True, breaker=True)
            return Verdict(value=True, summary=f"{where}: connected")
        return _error(f"{where}: timed out after {cond.timeout:g}s", transient=True, breaker=True)


async def _connect(host: str, port: int) -> None:
    """Connect to ``host``:``port`` and close at once. An IP address is one socket's
    connect (the common case: thousands of waits on ``127.0.0.1`` ports, docs/performance.md
    W6); a name goes through ``trio.open_tcp_stream`` (resolution, happy eyeballs over
    its addresses), which costs a nursery and a task per attempt.

    Raises:
        OSError: the connection failed (``errno`` set, or the attempts' group as cause).
    """
    try:
        family = _FAMILIES[ipaddress.ip_address(host).version]
    except ValueError:  # a name (or a scoped IPv6 address: left to the resolver)
        stream = await trio.open_tcp_stream(host, port)
        await stream.aclose()
        return
    with trio.socket.socket(family, trio.socket.SOCK_STREAM) as sock:
        await sock.connect((host, port))


_FAMILIES = {4: trio.socket.AF_INET, 6: trio.socket.AF_INET6}


def evaluator(deps: EvalDeps) -> ConditionCheck[TcpCondition]:
    """The registry's hook (no redaction needed: the summary holds only host and port)."""
    tcp = TcpEvaluator()

    async def check(cond: TcpCondition, ctx: PollContext, redactor: Redactor) -> Verdict:
        return await tcp.evaluate(cond, ctx)

    return check
