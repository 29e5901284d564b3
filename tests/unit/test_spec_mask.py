"""The masked view of a spec (runtime/spec_mask.py): a secret placed in any form a spec
can carry it never appears in the view, what is not secret stays, and the stored spec is
untouched (hypothesis over the secret's text)."""

from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import NoopAction, ShellAction, WebhookAction
from gnomon.runtime.model.conditions import AllOf, HttpCondition, LlmCondition, Not
from gnomon.runtime.model.job import JobSpec, WaitSpec
from gnomon.runtime.model.schedule import ManualSchedule
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spec_mask import masked_spec

#: Secret texts; the "Zq9" prefix keeps them from matching the spec's other text by chance.
SECRETS = st.text(string.ascii_letters + string.digits + "-_.~", min_size=8, max_size=40).map(
    lambda s: f"Zq9{s}"
)


def spec_with(secret: str) -> JobSpec:
    """A spec holding ``secret`` in every place a view used to show it in clear."""
    action = WebhookAction(
        url=f"https://user:{secret}@hooks.example/x?api_key={secret}",
        headers=(
            ("Authorization", f"Bearer {secret}"),
            ("Proxy-Authorization", secret),
            ("Cookie", f"sid={secret}"),
            ("X-Api-Key", secret),
            ("X-Vault-Token", secret),
            ("Accept", "application/json"),
        ),
        body=json.dumps({"api_key": secret, "password": secret, "token": secret, "n": 1}),
    )
    condition = AllOf(
        children=(
            HttpCondition(
                url=f"https://ops:{secret}@status.example/", headers=(("X-Api-Key", secret),)
            ),
            Not(
                child=LlmCondition(
                    question="ready?", context_cmd=f"curl -u x --password={secret} h"
                )
            ),
        )
    )
    return JobSpec(
        name="s",
        schedule=ManualSchedule(),
        action=action,
        wait=WaitSpec(condition=condition),
        env={"API_TOKEN": secret, "REGION": "eu"},
    )


@given(SECRETS)
def test_no_secret_survives_in_any_form(secret: str) -> None:
    """Headers, URL passwords and query tokens, body fields, env values and commands deep in
    a wait condition: the masked spec's wire form holds no trace of the secret."""
    spec = spec_with(secret)
    shown = wire.to_json(masked_spec(spec))
    assert secret not in shown
    assert spec.env["API_TOKEN"] == secret  # the spec itself is untouched
    assert "application/json" in shown
    assert "REGION" in shown


@given(SECRETS)
def test_commands_messages_and_daemon_secrets_are_redacted(secret: str) -> None:
    """A shell command's password flag, a noop message's token, and a daemon secret value
    (configured, e.g. the LLM key) written literally into a command."""
    shell = JobSpec(
        name="c",
        schedule=ManualSchedule(),
        action=ShellAction(command=f"deploy --password={secret} && echo {secret}-daemon"),
    )
    shown = wire.to_json(masked_spec(shell, Redactor.of([f"{secret}-daemon"])))
    assert secret not in shown
    noop = JobSpec(
        name="n", schedule=ManualSchedule(), action=NoopAction(message=f"token={secret}")
    )
    assert secret not in wire.to_json(masked_spec(noop))


def test_a_spec_without_secrets_is_shown_as_it_is() -> None:
    """Nothing secret: the view equals the spec."""
    spec = JobSpec(
        name="plain",
        schedule=ManualSchedule(),
        action=WebhookAction(url="https://example.com/x", headers=(("Accept", "text/plain"),)),
        tags={"team": "ops"},
    )
    assert masked_spec(spec) == spec
