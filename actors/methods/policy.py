"""``policy.list``, ``policy.set`` and ``policy.check``: the shell policy
(docs/protocol.md; the rules themselves: actors/shell_policy.py)."""

from __future__ import annotations

from typing import Any

import attrs

from gnomon.actors import policy_shared
from gnomon.actors.methods.context import Handler, MethodContext
from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_policy import (
    PolicyCheckParams,
    PolicyRule,
    PolicySetParams,
    PolicyVerdict,
)


@attrs.frozen
class PolicyMethods:
    """See the module docstring."""

    ctx: MethodContext

    def handlers(self) -> dict[str, Handler]:
        return {
            names.POLICY_LIST: self.list,
            names.POLICY_SET: self.set,
            names.POLICY_CHECK: self.check,
        }

    async def list(self, caller: Caller, _: Any) -> tuple[PolicyRule, ...]:
        """The deny rules, then the allow rules."""
        rules = self.ctx.policy.listing()
        out = [PolicyRule(kind="deny", pattern=p) for p in rules.deny]
        out += [PolicyRule(kind="allow", pattern=p) for p in rules.allow]
        return tuple(out)

    async def set(self, caller: Caller, p: PolicySetParams) -> tuple[PolicyRule, ...]:
        """Add an allow or deny rule, or remove a pattern; the rules after. Alone, the
        daemon edits its ``policy.toml``; clustered, the cluster's rules in the database,
        which every node reloads (actors/policy_shared.py).

        Raises:
            InvalidInput: the pattern does not parse (the message names it).
        """
        policy = self.ctx.policy
        if policy.shared is None:
            edit = {"allow": policy.allow, "deny": policy.deny, "remove": policy.remove}
            edit[p.action](p.pattern)
        else:
            change = policy_shared.editing(p.action, p.pattern)
            stored = await self.ctx.store.update_switch(policy_shared.SWITCH, change)
            policy.shared = policy_shared.load(stored)
            policy.version += 1
        return await self.list(caller, None)

    async def check(self, caller: Caller, p: PolicyCheckParams) -> PolicyVerdict:
        """How the policy classifies ``p.command``, and which rule decided."""
        c = self.ctx.policy.classify(p.command)
        deciding = c.deciding
        why = deciding.why if deciding is not None else ""
        if deciding is not None and deciding.rule:
            why = f"{why} (rule {deciding.rule!r})".strip()
        return PolicyVerdict(command=p.command, decision=c.decision.value, reason=why)
