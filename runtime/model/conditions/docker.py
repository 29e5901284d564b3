"""The ``docker`` condition: ``docker:NAME[:running|:healthy]``
(docs/actions-and-conditions.md)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

import attrs

from gnomon.runtime.model.dsl_scan import invalid, show
from gnomon.runtime.model.kinds import Kind, cap

#: A docker or k8s name: no shell syntax, never a flag.
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
NAME_FORM = "a name of letters, digits and ._- (a trailing * matches a prefix)"
_DOCKER = re.compile(rf"(?P<name>{NAME})(?P<star>\*?)(?::(?P<state>[^:]*))?")


@attrs.frozen(kw_only=True)
class DockerCondition:
    """Containers named ``name`` (or every container starting with it when ``prefix``) are
    running, or healthy when ``state == "healthy"``. Checked through the ``docker`` CLI as
    an argv list, never a shell string."""

    TAG: ClassVar[str] = "docker"
    name: str
    prefix: bool = False
    state: Literal["running", "healthy"] = "running"


def _parse(rest: str, body: str) -> DockerCondition:
    match = _DOCKER.fullmatch(rest)
    if not match:
        raise invalid(f"bad docker container name {show(rest)}", rest, (NAME_FORM,))
    state = match.group("state")
    if state is not None and state.lower() not in ("running", "healthy"):
        raise invalid(f"bad docker state {show(state)}", state, ("running", "healthy"))
    return DockerCondition(
        name=match.group("name"),
        prefix=bool(match.group("star")),
        state="healthy" if state and state.lower() == "healthy" else "running",
    )


def _format(c: DockerCondition) -> str:
    return f"docker:{c.name}{'*' if c.prefix else ''}{':healthy' if c.state == 'healthy' else ''}"


KIND = Kind(
    cls=DockerCondition,
    forms=("docker:NAME[:running|:healthy]",),
    prefixes=(("docker:", _parse),),
    format=_format,
    breaker_key=lambda c, keying: cap(f"docker:{c.name}{'*' if c.prefix else ''}"),
)
