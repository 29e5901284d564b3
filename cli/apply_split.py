"""``gnomon apply``'s specs as ``job.create_many`` calls that each fit in one frame.

The daemon reads request frames of at most ``gateway.max_message_bytes`` (``system.hello``
names it); a larger one is refused whole. :func:`split` cuts the specs (in wire form, as
sent) into calls whose frames stay under that limit, less :data:`ENVELOPE` bytes for the
request around them, and at most :data:`~gnomon.runtime.protocol_bulk.MAX_SPECS` specs
each. A spec that names another spec of the file (``depends_on``, ``triggers``) is sent
after it — in the same call or a later one, when its target is live — and specs linked by
such names stay in one call whenever they fit together, so a ``--dry-run`` (which creates
nothing between calls) sees them together too. Pure: no I/O, no daemon.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from gnomon.runtime.errors import Refused
from gnomon.runtime.protocol_bulk import MAX_SPECS

#: Bytes kept for the request around the specs: ``jsonrpc``, ``id``, ``method``, ``mode``,
#: ``atomic``, ``dry_run`` (about 130 bytes as gnomon.client writes them).
ENVELOPE = 512
SEPARATOR = len(", ")  # between two specs of the list, as ``json.dumps`` writes them
REFERENCES = ("depends_on", "triggers")


@attrs.frozen(kw_only=True)
class Plan:
    """The calls to send, in order: each a tuple of indices into the specs, in the order
    to send them; ``sizes`` the encoded bytes of each spec (with its separator)."""

    calls: tuple[tuple[int, ...], ...]
    sizes: tuple[int, ...]

    def call_bytes(self, call: Sequence[int]) -> int:
        return sum(self.sizes[i] for i in call)


def budget_of(max_message_bytes: int) -> int:
    """The bytes the specs of one call may take under the daemon's frame limit."""
    return max(1, max_message_bytes - ENVELOPE)


def spec_bytes(spec: Mapping[str, Any]) -> int:
    """A spec's bytes in the request frame (gnomon.client encodes with ``json.dumps``)."""
    return len(json.dumps(spec).encode()) + SEPARATOR


def references(specs: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """For each spec, the other specs of the list it names in ``depends_on``/``triggers``
    (by name; ids and names of live jobs outside the list are not references here)."""
    index = {spec.get("name"): i for i, spec in enumerate(specs)}
    out: list[list[int]] = []
    for i, spec in enumerate(specs):
        named = [ref for field in REFERENCES for ref in spec.get(field) or ()]
        targets = {index[ref] for ref in named if ref in index} - {i}
        out.append(sorted(targets))
    return out


def send_order(refs: Sequence[Sequence[int]]) -> list[int]:
    """Every index once: each spec after the specs it names, else in file order (a cycle
    of names, which the daemon refuses anyway, goes in file order)."""
    waiting = [len(set(targets)) for targets in refs]
    named_by: list[list[int]] = [[] for _ in refs]
    for i, targets in enumerate(refs):
        for target in set(targets):
            named_by[target].append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    placed = [False] * len(refs)
    while len(order) < len(refs):
        if not ready:  # a cycle: release its first spec
            heapq.heappush(ready, next(i for i, done in enumerate(placed) if not done))
        i = heapq.heappop(ready)
        if placed[i]:
            continue
        placed[i] = True
        order.append(i)
        for referrer in named_by[i]:
            waiting[referrer] -= 1
            if waiting[referrer] == 0 and not placed[referrer]:
                heapq.heappush(ready, referrer)
    return order


def linked_groups(refs: Sequence[Sequence[int]], order: Sequence[int]) -> list[list[int]]:
    """The specs linked by names (directly or not), each group in ``order``; groups by
    their first spec in ``order``."""
    parent = list(range(len(refs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, targets in enumerate(refs):
        for target in targets:
            parent[root(i)] = root(target)
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def split(specs: Sequence[Mapping[str, Any]], budget: int, *, max_specs: int = MAX_SPECS) -> Plan:
    """The calls for ``specs`` (see the module docstring): each call's specs take at most
    ``budget`` bytes and number at most ``max_specs``; every spec is in exactly one call.

    Raises:
        Refused: ``too_large``, naming the job, when one spec alone exceeds ``budget``.
    """
    sizes = tuple(spec_bytes(spec) for spec in specs)
    for spec, size in zip(specs, sizes, strict=True):
        if size > budget:
            raise Refused(
                f"job {spec.get('name')!r} takes {size} bytes, more than one request to the "
                f"daemon may hold ({budget} bytes under gateway.max_message_bytes)",
                reason="too_large",
                hint="shorten its spec, or raise gateway.max_message_bytes on the daemon",
            )
    refs = references(specs)
    calls: list[list[int]] = [[]]
    used = 0
    for group in linked_groups(refs, send_order(refs)):
        whole = sum(sizes[i] for i in group)
        fits = used + whole <= budget and len(calls[-1]) + len(group) <= max_specs
        if calls[-1] and not fits:
            calls.append([])
            used = 0
        for i in group:  # a group larger than one call goes on in the next ones, in order
            if calls[-1] and (used + sizes[i] > budget or len(calls[-1]) >= max_specs):
                calls.append([])
                used = 0
            calls[-1].append(i)
            used += sizes[i]
    return Plan(calls=tuple(tuple(c) for c in calls if c), sizes=sizes)


def refuse_atomic(plan: Plan, max_message_bytes: int) -> None:
    """``--atomic`` needs the specs in one call: refuse a plan of several.

    Raises:
        Refused: ``too_large``, naming the specs' bytes and the daemon's limit.
    """
    if len(plan.calls) <= 1:
        return
    total = sum(plan.sizes)
    raise Refused(
        f"--atomic needs one call, but the {len(plan.sizes)} jobs take {total} bytes, more "
        f"than one request to the daemon may hold ({max_message_bytes} bytes, "
        f"gateway.max_message_bytes); without --atomic they go in {len(plan.calls)} calls",
        reason="too_large",
        hint="apply without --atomic, or split the file",
    )
