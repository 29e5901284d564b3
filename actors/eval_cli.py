"""The ``docker`` and ``k8s`` evaluators, through the ``docker`` and ``kubectl`` CLIs.

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
from collections.abc import Mapping, Sequence
from typing import cast

import trio

from gnomon.actors.exec_settings import ExecSettings
from gnomon.actors.execution import PollContext, Verdict
from gnomon.runtime.model.conditions import DockerCondition, K8sCondition
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spawn import ProcResult, SpawnFailed, run_group

__all__ = ["DockerEvaluator", "K8sEvaluator", "default_k8s_condition"]

_DOCKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_K8S_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}$")
_K8S_NS = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_K8S_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,252}$")
_K8S_COND = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,252}$")
_DEPLOYMENTS = frozenset({"deployment", "deployments", "deploy"})
_CLI_CAP = 4 * 1024 * 1024
_CLI_TIMEOUT = 30.0

Json = dict[str, object]


def _error(summary: str, *, transient: bool, breaker: bool = False) -> Verdict:
    return Verdict(value=None, summary=summary, transient=transient, breaker_failure=breaker)


def default_k8s_condition(kind: str) -> str:
    """``Available`` for deployments, ``Ready`` for everything else."""
    return "Available" if kind.lower().split(".")[0] in _DEPLOYMENTS else "Ready"


async def _run_cli(
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
            return _error(redactor.redact(exc.message), transient=not exc.missing)
    if result is None:
        return _error(f"{argv[0]} timed out", transient=True, breaker=True)
    return result


def _stderr(result: ProcResult, redactor: Redactor) -> str:
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
            return _error(
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
        res = await _run_cli(argv, self.settings, ctx, redactor)
        if isinstance(res, Verdict):
            return res
        if res.returncode != 0:
            err = _stderr(res, redactor)
            if "no such" in err.lower():
                return Verdict(value=False, summary=f"container not found: {err}")
            return self._failure(err)
        return self._judge(res.stdout.decode("utf-8", errors="replace"), cond, names)

    async def _names(self, ctx: PollContext, redactor: Redactor) -> list[str] | Verdict:
        argv = [self.settings.docker_bin, "ps", "--all", "--no-trunc", "--format", "{{.Names}}"]
        res = await _run_cli(argv, self.settings, ctx, redactor)
        if isinstance(res, Verdict):
            return res
        if res.returncode != 0:
            return self._failure(_stderr(res, redactor))
        text = res.stdout.decode("utf-8", errors="replace")
        return [n for line in text.splitlines() for n in line.strip().split(",") if n]

    def _failure(self, err: str) -> Verdict:
        if "permission denied" in err.lower():
            return _error(f"docker: {err}", transient=False)
        return _error(f"docker: {err}", transient=True, breaker=True)

    def _judge(self, text: str, cond: DockerCondition, names: list[str]) -> Verdict:
        states: dict[str, Json] = {}
        for line in text.splitlines():
            name, _, raw = line.partition("\t")
            try:
                state = json.loads(raw)
            except ValueError:
                return _error(f"unexpected docker inspect output: {line[:200]!r}", transient=False)
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
                    return _error(
                        f"{name} has no health check; wait for docker:{name}:running instead",
                        transient=False,
                    )
                status = cast("Json", health).get("Status")
                if status != "healthy":
                    return Verdict(value=False, summary=f"{name}: {status}")
        return Verdict(value=True, summary=f"{', '.join(names)}: {cond.state}")


class K8sEvaluator:
    """Evaluates :class:`K8sCondition`\\ s."""

    def __init__(self, settings: ExecSettings) -> None:
        self.settings = settings

    def _invalid(self, cond: K8sCondition) -> str | None:
        if not _K8S_KIND.match(cond.kind):
            return f"invalid resource kind {cond.kind!r}"
        if not _K8S_NAME.match(cond.name):
            return f"invalid resource name {cond.name!r} (lowercase letters, digits, - .)"
        if cond.namespace is not None and not _K8S_NS.match(cond.namespace):
            return f"invalid namespace {cond.namespace!r}"
        if cond.condition is not None and not _K8S_COND.match(cond.condition):
            return f"invalid condition {cond.condition!r}"
        return None

    def argv(self, cond: K8sCondition) -> list[str]:
        """The kubectl argv that reads ``cond``'s resource(s) as JSON."""
        argv = [self.settings.kubectl_bin]
        if self.settings.kubeconfig:
            argv += ["--kubeconfig", self.settings.kubeconfig]
        argv += ["get", cond.kind]
        if not cond.prefix:
            argv.append(cond.name)
        if cond.namespace:
            argv += ["-n", cond.namespace]
        return [*argv, "-o", "json"]

    async def evaluate(self, cond: K8sCondition, ctx: PollContext, redactor: Redactor) -> Verdict:
        """One check through kubectl; cancellation kills it."""
        invalid = self._invalid(cond)
        if invalid is not None:
            return _error(invalid, transient=False)
        res = await _run_cli(self.argv(cond), self.settings, ctx, redactor)
        if isinstance(res, Verdict):
            return res
        if res.returncode != 0:
            return self._failure(_stderr(res, redactor), cond)
        try:
            data = json.loads(res.stdout)
        except ValueError:
            return _error("kubectl printed something that is not JSON", transient=False)
        if not isinstance(data, dict):
            return _error("kubectl printed unexpected JSON", transient=False)
        return self._judge(cast("Json", data), cond)

    def _failure(self, err: str, cond: K8sCondition) -> Verdict:
        low = err.lower()
        if "notfound" in low or "not found" in low:
            return Verdict(value=False, summary=f"{cond.kind}/{cond.name} not found yet: {err}")
        if "doesn't have a resource type" in low or "forbidden" in low:
            return _error(f"kubectl: {err}", transient=False)
        return _error(f"kubectl: {err}", transient=True, breaker=True)

    def _judge(self, data: Json, cond: K8sCondition) -> Verdict:
        wanted = cond.condition or default_k8s_condition(cond.kind)
        if cond.prefix:
            items = data.get("items")
            resources = (
                [cast("Json", i) for i in items if isinstance(i, dict)]
                if isinstance(items, list)
                else []
            )
            resources = [r for r in resources if _name(r).startswith(cond.name)]
            if not resources:
                return Verdict(
                    value=False, summary=f"no {cond.kind} name starts with {cond.name!r}"
                )
        else:
            resources = [data]
        for res in resources:
            status = _condition_status(res, wanted)
            if status != "true":
                shown = "not reported yet" if status is None else status
                return Verdict(value=False, summary=f"{cond.kind}/{_name(res)}: {wanted} {shown}")
        names = ", ".join(_name(r) for r in resources)
        return Verdict(value=True, summary=f"{cond.kind}/{names}: {wanted}=True")


def _name(resource: Json) -> str:
    meta = resource.get("metadata")
    return str(cast("Mapping[str, object]", meta).get("name", "")) if isinstance(meta, dict) else ""


def _condition_status(resource: Json, wanted: str) -> str | None:
    status = resource.get("status")
    conditions = cast("Json", status).get("conditions") if isinstance(status, dict) else None
    if not isinstance(conditions, list):
        return None
    for c in conditions:
        if isinstance(c, dict) and str(c.get("type", "")).lower() == wanted.lower():
            return str(c.get("status", "")).lower()
    return None
