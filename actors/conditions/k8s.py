"""The ``k8s`` evaluator, through ``kubectl`` (``kubectl_bin``; ``--kubeconfig`` from
``kubectl.kubeconfig`` when set) as **argv lists** — no shell, names validated first, the
output read as JSON and the condition checked in Python (no jsonpath, reference bug
16.1.7); the CLI runner and the outcome table are :mod:`gnomon.actors.conditions.docker`'s::

    kubectl get KIND NAME [-n NS] -o json                                # one resource
    kubectl get KIND [-n NS] -o json                                     # prefix mode

A resource is ready when ``status.conditions`` has an entry of type ``COND`` (default
``Ready``, ``Available`` for deployments; case-insensitive) with status ``True``. In
prefix mode every matching resource must be, and at least one must match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from gnomon.actors.conditions.docker import cli_error, cli_stderr, run_cli
from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.conditions import K8sCondition
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["K8sEvaluator", "default_k8s_condition", "evaluator"]

_K8S_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}$")
_K8S_NS = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_K8S_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,252}$")
_K8S_COND = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,252}$")
_DEPLOYMENTS = frozenset({"deployment", "deployments", "deploy"})

Json = dict[str, object]


def default_k8s_condition(kind: str) -> str:
    """``Available`` for deployments, ``Ready`` for everything else."""
    return "Available" if kind.lower().split(".")[0] in _DEPLOYMENTS else "Ready"


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
            return cli_error(invalid, transient=False)
        res = await run_cli(self.argv(cond), self.settings, ctx, redactor)
        if isinstance(res, Verdict):
            return res
        if res.returncode != 0:
            return self._failure(cli_stderr(res, redactor), cond)
        try:
            data = json.loads(res.stdout)
        except ValueError:
            return cli_error("kubectl printed something that is not JSON", transient=False)
        if not isinstance(data, dict):
            return cli_error("kubectl printed unexpected JSON", transient=False)
        return self._judge(cast("Json", data), cond)

    def _failure(self, err: str, cond: K8sCondition) -> Verdict:
        low = err.lower()
        if "notfound" in low or "not found" in low:
            return Verdict(value=False, summary=f"{cond.kind}/{cond.name} not found yet: {err}")
        if "doesn't have a resource type" in low or "forbidden" in low:
            return cli_error(f"kubectl: {err}", transient=False)
        return cli_error(f"kubectl: {err}", transient=True, breaker=True)

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


def evaluator(deps: EvalDeps) -> ConditionCheck[K8sCondition]:
    """The registry's hook."""
    return K8sEvaluator(deps.settings).evaluate
