"""The ``k8s`` condition: ``k8s:KIND[/NS]/NAME[:COND]`` (docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from gnomon.runtime.model.conditions.docker import NAME, NAME_FORM
from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap

_K8S = re.compile(
    rf"(?P<kind>{NAME})(?:/(?P<ns>{NAME}))?/(?P<name>{NAME})(?P<star>\*?)(?::(?P<cond>{NAME}))?"
)


@attrs.frozen(kw_only=True)
class K8sCondition:
    """A Kubernetes resource (or every resource whose name starts with ``name`` when
    ``prefix``) has ``condition`` True; ``None`` means ``Ready``, or ``Available`` for
    deployments. Checked through ``kubectl`` as an argv list."""

    TAG: ClassVar[str] = "k8s"
    kind: str
    name: str
    namespace: str | None = None
    prefix: bool = False
    condition: str | None = None


def _parse(rest: str, body: str) -> K8sCondition:
    match = _K8S.fullmatch(rest)
    if not match:
        raise invalid(
            f"bad k8s target {show(rest)}", rest, ("k8s:KIND[/NS]/NAME[:COND]", NAME_FORM)
        )
    return K8sCondition(
        kind=match.group("kind"),
        namespace=match.group("ns"),
        name=match.group("name"),
        prefix=bool(match.group("star")),
        condition=match.group("cond"),
    )


def _format(c: K8sCondition) -> str:
    ns = f"{c.namespace}/" if c.namespace is not None else ""
    cond = f":{c.condition}" if c.condition is not None else ""
    return f"k8s:{c.kind}/{ns}{c.name}{'*' if c.prefix else ''}{cond}"


def _key(c: K8sCondition) -> str:
    where = f"{c.namespace}/" if c.namespace else ""
    return cap(f"k8s:{c.kind.lower()}/{where}{c.name}{'*' if c.prefix else ''}")


KIND = Kind(
    cls=K8sCondition,
    forms=("k8s:KIND[/NS]/NAME[:COND]",),
    prefixes=(("k8s:", _parse),),
    format=_format,
    breaker_key=lambda c, keying: _key(c),
)
