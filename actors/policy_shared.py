"""The cluster's shell policy: the rules ``gnomon policy allow|deny|remove`` keeps in the
database when the daemon is clustered, and how a node combines them with its own
``policy.toml`` (docs/security.md, "The shell policy in a cluster"). Pure: no trio, no I/O.

The stored form is a JSON object ``{"allow": [...], "deny": [...]}`` in the store's switch
:data:`SWITCH`. A node's effective rules are

- deny: the cluster's deny patterns, then its file's (a deny from either wins);
- allow: the cluster's allow patterns only (an allow in a node's file is ignored, with a
  warning in the log, so a stale file can never let a command run that the cluster's
  rules leave asking);
- the built-in read-only allowlist: on unless the file turns it off.

So no node's file can make the policy weaker than the cluster's; it can only make it
stricter on that node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

from gnomon.actors.core.shell.rules import PolicyRules, validate_pattern
from gnomon.runtime.errors import InvalidInput

SWITCH = "policy"
Edit = Literal["allow", "deny", "remove"]


def load(text: str | None) -> PolicyRules:
    """The cluster's rules of the stored form ``text`` (``None``: none stored yet).

    Raises:
        InvalidInput: the stored form is malformed (named).
    """
    if not text:
        return PolicyRules()
    try:
        data = json.loads(text)
        allow, deny = data["allow"], data["deny"]
        return PolicyRules(
            allow=tuple(validate_pattern(p, kind="allow") for p in allow),
            deny=tuple(validate_pattern(p, kind="deny") for p in deny),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"the cluster's shell policy (switch {SWITCH!r}) is invalid: {exc}",
            accepted=['{"allow": [...], "deny": [...]}'],
        ) from None


def dump(rules: PolicyRules) -> str:
    """The stored form of ``rules``."""
    return json.dumps({"allow": list(rules.allow), "deny": list(rules.deny)})


def editing(action: Edit, pattern: str) -> Callable[[str | None], str]:
    """The change of the stored rules that ``gnomon policy ACTION PATTERN`` makes: add an
    allow or deny pattern (no-op if present), or remove a pattern from both lists.

    Raises:
        InvalidInput: at once, for a pattern that does not parse (as on one node).
    """
    text = " ".join(pattern.split())
    if action != "remove":
        text = validate_pattern(pattern, kind=action)

    def change(stored: str | None) -> str:
        rules = load(stored)
        allow, deny = rules.allow, rules.deny
        if action == "allow" and text not in allow:
            allow = (*allow, text)
        elif action == "deny" and text not in deny:
            deny = (*deny, text)
        elif action == "remove":
            allow = tuple(p for p in allow if p != text)
            deny = tuple(p for p in deny if p != text)
        return dump(PolicyRules(allow=allow, deny=deny))

    return change


def combined(cluster: PolicyRules, local: PolicyRules) -> PolicyRules:
    """A node's effective rules (see the module docstring)."""
    deny = cluster.deny + tuple(p for p in local.deny if p not in cluster.deny)
    return PolicyRules(allow=cluster.allow, deny=deny, builtin=cluster.builtin and local.builtin)
