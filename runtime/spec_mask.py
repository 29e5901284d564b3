"""A job's spec as clients may see it: secrets masked, in one place.

Every view that shows a spec (``job.get``, ``job.list``, ``job.create``'s answer — so
``jobs show``, ``jobs list --json``, the dashboard, MCP ``query``/``list``) is built from
:func:`masked_spec`; the stored spec keeps the real values, which execution needs. What is
masked (replaced by ``***``, see ``docs/security.md``, Secrets):

- every ``env`` value (the names stay);
- webhook and HTTP-condition headers whose names are sensitive (``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, ``X-Api-Key``…) or look secret (``*TOKEN*``,
  ``*KEY*``…), and secret patterns in the other header values;
- in every text of the spec a command, URL, body, prompt or message can carry — URLs,
  bodies, shell and condition commands, prompts, agent tasks, slash commands, noop
  messages — the patterns of :mod:`gnomon.runtime.redact` (URL passwords,
  ``token=…``, ``"api_key": "…"``, ``Authorization: …``) and the daemon's own secret
  values (configured webhook secrets, the LLM key, ``secrets.env`` values).

Pure.
"""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.parts import kind_of, map_leaves
from gnomon.runtime.redact import MASK, Redactor

__all__ = ["masked_spec"]

_PATTERNS = Redactor()


def masked_spec(spec: JobSpec, redactor: Redactor = _PATTERNS) -> JobSpec:
    """``spec`` with its secrets masked (see the module docstring); ``redactor`` adds the
    daemon's own secret values to the patterns."""
    wait = spec.wait
    if wait is not None:
        fallback = None if wait.fallback is None else _masked(wait.fallback, redactor)
        wait = attrs.evolve(wait, condition=_condition(wait.condition, redactor), fallback=fallback)
    return attrs.evolve(
        spec,
        action=_masked(spec.action, redactor),
        wait=wait,
        env=dict.fromkeys(spec.env, MASK),
    )


def _condition(condition: Condition, redactor: Redactor) -> Condition:
    return map_leaves(condition, lambda leaf: _masked(leaf, redactor))


def _masked(value: Any, redactor: Redactor) -> Any:
    """An action or a leaf condition with its texts (its kind's ``secret_fields``)
    redacted and its headers masked."""
    changes: dict[str, Any] = {}
    for name in kind_of(value).secret_fields:
        text = getattr(value, name)
        if text:
            changes[name] = redactor.redact(text)
    headers = getattr(value, "headers", None)
    if headers:
        changes["headers"] = tuple(redactor.headers(headers))
    return attrs.evolve(value, **changes) if changes else value
