"""The ``docker`` evaluator, and the CLI runner it shares with ``k8s``
(:mod:`gnomon.actors.conditions.k8s`), through the ``docker`` and ``kubectl`` CLIs.

Both run **argv lists** — no shell ever parses a container, resource or namespace name —
and validate names first, so a name cannot become a flag either. ``kubectl`` output is
read as JSON (``-o json``) and the condition checked in Python: no jsonpath expression is
passed anywhere (reference bug 16.1.7).

docker (``docker_bin``; ``DOCKER_HOST`` etc. from the job's env)::

    docker ps --all --no-trunc --format {{.Names}}                      # prefix mode only
    docker inspect --type container --format '{{.Name}}\\t{{json .State}}' NAME…

k8s (``kubectl_bin``; ``--kubeconfig`` from ``kubectl.kubeconfig`` when set)::

    kubectl get KIND NAME [-n NS] -o json                                # one resource
    kubectl get KIND [-n NS] -o json                                     # prefix mode

A resource is ready when ``status.conditions`` has an entry of type ``COND`` (default
``Ready``, ``Available`` for deployments; case-insensitive) with status ``True``. In
prefix mode every matching resource must be, and at least one must match.

===================================================  ======  =========  =======
outcome                                              value   transient  breaker
===================================================  ======  =========  =======
running / healthy / condition True                   true
stopped, unhealthy, condition not True, not found    false
no container or resource matches the prefix          false
daemon / API server unreachable, timeout, other      error   yes        yes
invalid name, missing binary, no health check,       error   no         no
unknown resource type, RBAC forbidden, bad output
===================================================  ======  =========  =======
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import trio

from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.conditions import DockerCondition
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spawn import ProcResult, SpawnFailed, run_group

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["DockerEvaluator", "cli_error", "cli_stderr", "evaluator", "run_cli"]

_DOCKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_CLI_CAP = 4 * 1024 * 1024
_CLI_TIMEOUT = 30.0

Json = dict[str, object]


def cli_error(summary: str, *, transient: bool, breaker: bool = False) -> Verdict:
    return Verdict(value=None, summary=summary, transient=transient, breaker_failure=breaker)


async def run_cli(
    argv: Sequence[str], settings: ExecSettings, ctx: PollContext, redactor: Redactor
) -> ProcResult | Verdict:
    """Run a CLI for a poll: its result, or the error verdict (missing binary, timeout)."""
    result = None
    with trio.move_on_after(min(ctx.timeout, _CLI_TIMEOUT)):
        try:
            result = await run_group(
                argv,
                env=settings.child_environ(dict(ctx.env)),
                cwd=ctx.cwd,
                stderr="separate",
                keep=_CLI_CAP,
                grace=settings.kill_grace,
            )
        except SpawnFailed as exc:
            return cli_error(redactor.redact(exc.message), transient=not exc.missing)
    if result is None:
        return cli_error(f"{argv[0]} timed out", transient=True, breaker=True)
    return result


def cli_stderr(result: ProcResult, redactor: Redactor) -> str:
    text = result.stderr.decode("utf-8", errors="replace").strip()
    return redactor.redact(text.splitlines()[-1] if text else f"exit {result.exit_code}")


class DockerEvaluator:
    """Evaluates :class:`DockerCondition`\\ s."""

    def __init__(self, settings: ExecSettings) -> None:
        self.settings = settings

    async def evaluate(
        self, cond: DockerCondition, ctx: PollContext, redactor: Redactor
    ) -> Verdict:
        """One check through the docker CLI; cancellation kills it."""
        if not _DOCKER_NAME.match(cond.name):
            return cli_error(
                f"invalid container name {cond.name!r} (letters, digits, _ . -)", transient=False
            )
        names = [cond.name]
        if cond.prefix:
            listed = await self._names(ctx, redactor)
            if isinstance(listed, Verdict):
                return listed
            names = sorted(n for n in listed if n.startswith(cond.name))
            if not names:
                return Verdict(value=False, summary=f"no container name starts with {cond.name!r}")
        fmt = "{{.Name}}\t{{json .State}}"
        argv = [self.settings.docker_bin, "inspect", "--type", "container", "--format", fmt, *names]
        res = await run_cli(argv, self.settings, ctx, redactor)
        if isinstance(res, Verdict):
            return res
        if res.returncode != 0:
            err = cli_stderr(res, redactor)
            if "no such" in err.lower():
                return Verdict(value=False, summary=f"container not found: {err}")
            return self._failure(err)
        return self._judge(res.stdout.decode("utf-8", errors="replace"), cond, names)

    async def _names(self, ctx: PollContext, redactor: Redactor) -> list[str] | Verdict:
        argv = [self.settings.docker_bin, "ps", "--all", "--no-trunc", "--format", "{{.Names}}"]
        res = await run_cli(argv, self.settings, ctx, redactor)
        if isinstance(res, Verdict):
            return res
        if res.returncode != 0:
            return self._failure(cli_stderr(res, redactor))
        text = res.stdout.decode("utf-8", errors="replace")
        return [n for line in text.splitlines() for n in line.strip().split(",") if n]

    def _failure(self, err: str) -> Verdict:
        if "permission denied" in err.lower():
            return cli_error(f"docker: {err}", transient=False)
        return cli_error(f"docker: {err}", transient=True, breaker=True)

    def _judge(self, text: str, cond: DockerCondition, names: list[str]) -> Verdict:
        states: dict[str, Json] = {}
        for line in text.splitlines():
            name, _, raw = line.partition("\t")
            try:
                state = json.loads(raw)
            except ValueError:
                return cli_error(
                    f"unexpected docker inspect output: {line[:200]!r}", transient=False
                )
            if isinstance(state, dict):
                states[name.lstrip("/")] = cast("Json", state)
        for name in names:
            state = states.get(name)
            if state is None:
                return Verdict(value=False, summary=f"{name}: not found")
            if state.get("Running") is not True:
                return Verdict(value=False, summary=f"{name}: {state.get('Status', 'not running')}")
            if cond.state == "healthy":
                health = state.get("Health")
                if not isinstance(health, dict):
                    return cli_error(
                        f"{name} has no health check; wait for docker:{name}:running instead",
                        transient=False,
                    )
                status = cast("Json", health).get("Status")
                if status != "healthy":
                    return Verdict(value=False, summary=f"{name}: {status}")
        return Verdict(value=True, summary=f"{', '.join(names)}: {cond.state}")


def evaluator(deps: EvalDeps) -> ConditionCheck[DockerCondition]:
    """The registry's hook."""
    return DockerEvaluator(deps.settings).evaluate
