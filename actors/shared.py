"""What a node of a cluster does with the settings every node shares (docs/cluster.md,
"What is global"): runtime/cluster/settings.py reads every token and switch when they
change and :meth:`SharedParts.apply` hands them to this node's token book, kill switch,
exclusion calendars and shell policy.

A node that changes a setting itself bumps that part's ``version``; :meth:`generation`
sums them, so a read that raced with such a change is thrown away instead of undoing it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import attrs

from gnomon.actors import policy_shared
from gnomon.actors.agents import AgentSwitch
from gnomon.actors.calendars import SWITCH as CALENDARS
from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.core.shell.rules import PolicyRules
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.actors.token_book import TokenBook
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.tokens import TokenRecord

log = logging.getLogger(__name__)
AGENTS = "agents.enabled"
#: What a node applies while the cluster's stored shell policy cannot be read: every
#: shell command is refused (the policy fails closed, as with a malformed policy.toml).
DENY_ALL = PolicyRules(deny=("*",))


@attrs.frozen
class SharedParts:
    """This node's parts that hold shared settings."""

    book: TokenBook
    switch: AgentSwitch
    calendars: ExclusionBook
    policy: ShellPolicy

    def start(self, stored_policy: str | None) -> None:
        """Make the policy the cluster's (at the daemon's start, before the tree runs)."""
        self.policy.shared = _policy(stored_policy)

    def generation(self) -> int:
        """Moves whenever this node changes one of the shared settings itself."""
        parts = (self.book, self.switch, self.calendars, self.policy)
        return sum(p.version for p in parts)

    async def apply(self, tokens: Sequence[TokenRecord], switches: Mapping[str, str]) -> None:
        """Hold the settings as stored; never raises (a bad calendar document keeps the
        calendars held so far; an agent job that cannot be paused is logged)."""
        self.book.adopt(tokens)
        self.policy.shared = _policy(switches.get(policy_shared.SWITCH))
        try:
            self.calendars.adopt(switches.get(CALENDARS))
        except Exception as exc:  # a malformed document: cattrs or json errors
            log.error("the stored exclusion calendars are invalid, kept the old ones: %s", exc)
        try:
            changed = await self.switch.adopt(switches.get(AGENTS))
        except Exception:
            log.exception("applying the agents' switch failed")
            return
        if changed:
            log.info("agents switched %s: %d job(s) changed", switches.get(AGENTS), changed)


def _policy(stored: str | None) -> PolicyRules:
    try:
        return policy_shared.load(stored)
    except InvalidInput as exc:
        log.error("%s; every shell command is refused until it is fixed", exc.message)
        return DENY_ALL
