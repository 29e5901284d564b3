"""Circuit-breaker keys: one breaker per *target* (docs/engine.md), pure.

Each type's key is its kind's ``breaker_key`` hook (``runtime/model/actions/<tag>.py``,
``runtime/model/conditions/<tag>.py``); this module supplies what the hooks cannot import
from the model — the shell policy's command normaliser — through a
:class:`~gnomon.runtime.model.kinds.Keying`.

==========================  =============================================================
action / condition          key (example)
==========================  =============================================================
webhook, http condition     the URL's ``host:port``, port from the scheme (``api.x.io:443``)
tcp condition               ``tcp:host:port`` (``tcp:db:5432``)
docker condition            ``docker:NAME``, ``docker:NAME*`` for a prefix (``docker:web``)
k8s condition               ``k8s:KIND/[NS/]NAME``, ``NAME*`` for a prefix
                            (``k8s:deployment/prod/api``)
llm_prompt, llm condition   ``llm:MODEL``; the configured ``llm.model`` if unset
shell action and condition  ``shell:`` + the normalised command (``shell:pg_isready -h db``)
regex condition             ``shell:`` + its normalised command
file condition              ``file:PATH``
agent_task                  ``agent:PROFILE``
slash_cmd                   ``slash:COMMAND`` (its first word: ``slash:jobs``)
hook                        ``hook:EVENT``
noop                        ``noop``
not C                       the key of ``C``
and / or                    the children's key when they share one, else ``cond:`` + 12
                            hex digits of a hash of their keys
==========================  =============================================================

A job's ``--breaker KEY`` replaces the derived key for its action and its condition
(:func:`job_action_key`, :func:`job_condition_key`). Keys are label values of
``gnomon_breaker_state``: secrets in a command or URL are redacted, and a key longer than
:data:`MAX_KEY` characters is cut and suffixed with a hash of the whole.
"""

from __future__ import annotations

import functools

from gnomon.actors.core.shell.rules import normalise
from gnomon.runtime.model.actions import Action, action_kind
from gnomon.runtime.model.conditions import Condition, condition_kind
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.kinds import DEFAULT_MODEL, MAX_KEY, Keying, cap, http_key
from gnomon.runtime.redact import Redactor

__all__ = [
    "DEFAULT_MODEL",
    "MAX_KEY",
    "action_key",
    "condition_key",
    "http_key",
    "job_action_key",
    "job_condition_key",
]

_REDACT = Redactor()


@functools.lru_cache(maxsize=4096)  # pure; every run of a shell job asks again
def _shell_key(command: str) -> str:
    return cap("shell:" + _REDACT.redact(normalise(command)))


@functools.lru_cache(maxsize=64)
def _keying(default_model: str) -> Keying:
    return Keying(
        default_model=default_model,
        shell=_shell_key,
        condition=functools.partial(condition_key, default_model=default_model),
    )


def action_key(action: Action, *, default_model: str = DEFAULT_MODEL) -> str:
    """The breaker key of ``action``: its kind's ``breaker_key`` hook (module docstring)."""
    return action_kind(action).breaker_key(action, _keying(default_model))


def condition_key(condition: Condition, *, default_model: str = DEFAULT_MODEL) -> str:
    """The breaker key of ``condition``: its kind's ``breaker_key`` hook (module docstring)."""
    return condition_kind(condition).breaker_key(condition, _keying(default_model))


def job_action_key(spec: JobSpec, action: Action, *, default_model: str = DEFAULT_MODEL) -> str:
    """The job's ``--breaker`` if set, else the key of ``action``."""
    return spec.breaker or action_key(action, default_model=default_model)


def job_condition_key(
    spec: JobSpec, condition: Condition, *, default_model: str = DEFAULT_MODEL
) -> str:
    """The job's ``--breaker`` if set, else the key of ``condition``."""
    return spec.breaker or condition_key(condition, default_model=default_model)
