"""The cluster's shell policy, pure (actors/policy_shared.py): edits of the stored rules,
and a node's effective rules — a deny from the cluster or the node's file wins, allows come
from the cluster only, so a node's file can never make the policy weaker."""

from __future__ import annotations

import pytest

from gnomon.actors import policy_shared
from gnomon.actors.core.shell.rules import Decision, PolicyRules, classify
from gnomon.runtime.errors import InvalidInput


def test_edits_apply_to_the_stored_rules() -> None:
    """allow/deny add once (normalised), remove takes a pattern out of both lists."""
    stored = policy_shared.editing("allow", "make  *")(None)
    stored = policy_shared.editing("deny", "rm -rf *")(stored)
    stored = policy_shared.editing("allow", "make *")(stored)
    assert policy_shared.load(stored) == PolicyRules(allow=("make *",), deny=("rm -rf *",))
    stored = policy_shared.editing("remove", "make *")(stored)
    assert policy_shared.load(stored) == PolicyRules(deny=("rm -rf *",))


def test_a_bad_pattern_or_stored_form_is_named() -> None:
    """An allow spanning two commands is refused at once; a broken stored form is named."""
    with pytest.raises(InvalidInput):
        policy_shared.editing("allow", "a; b")
    with pytest.raises(InvalidInput, match="cluster's shell policy"):
        policy_shared.load('{"allow": 3}')


def test_the_nodes_file_can_only_make_the_policy_stricter() -> None:
    """The file's deny counts and its allow does not; its builtin = false counts."""
    cluster = PolicyRules(allow=("terraform plan",), deny=("rm -rf *",))
    local = PolicyRules(allow=("curl *",), deny=("terraform *",), builtin=False)
    rules = policy_shared.combined(cluster, local)
    assert rules.deny == ("rm -rf *", "terraform *")
    assert rules.allow == ("terraform plan",)
    assert not rules.builtin
    assert classify("terraform plan", rules).decision is Decision.DENY
    assert classify("curl http://x", rules).decision is Decision.ASK
    assert classify("ls", rules).decision is Decision.ASK
    assert classify("ls", policy_shared.combined(cluster, PolicyRules())).decision is (
        Decision.ALLOW
    )
