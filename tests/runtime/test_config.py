"""Configuration: precedence with sources, validation naming the key, the home."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gnomon.runtime.config import KEYS, load_config
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.home import Home, resolve_home


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    """flag > GNOMON_A_B env > config.toml > default, each value with its source."""
    toml = tmp_path / "config.toml"
    toml.write_text("[limits]\nglobal_rps = 7\nowner_rps = 2\n[daemon]\nport = 9000\n")
    cfg = load_config(toml, env={"GNOMON_LIMITS_OWNER_RPS": "3"}, flags={"daemon.port": 0})
    assert (cfg["limits.global_rps"], cfg.settings["limits.global_rps"].source) == (7.0, "file")
    assert (cfg["limits.owner_rps"], cfg.settings["limits.owner_rps"].source) == (3.0, "env")
    assert (cfg["daemon.port"], cfg.settings["daemon.port"].source) == (0, "flag")
    assert (cfg["limits.max_concurrency"], cfg.settings["limits.max_concurrency"].source) == (
        32,
        "default",
    )
    assert len(cfg.rows()) == len(KEYS)


@pytest.mark.parametrize(
    ("file", "env", "says"),
    [
        ("[limits]\nglobal_rpz = 1\n", {}, "unknown config key 'limits.global_rpz'"),
        ("", {"GNOMON_DAEMON_PORT": "eighty"}, "config daemon.port (GNOMON_DAEMON_PORT)"),
        ("[store]\nsynchronous = 'always'\n", {}, "accepted forms: normal, full"),
        ("[breaker]\ncooldown = 'soon'\n", {}, "1h30m"),
        ("not toml [", {}, "not valid TOML"),
        ("", {"GNOMON_AGENTS_ENABLED": "perhaps"}, "accepted forms: true, false"),
    ],
)
def test_bad_values_name_the_key_and_forms(
    tmp_path: Path, file: str, env: dict[str, str], says: str
) -> None:
    """Unknown keys and bad values are refused, never ignored."""
    toml = tmp_path / "config.toml"
    toml.write_text(file)
    with pytest.raises(InvalidInput) as info:
        load_config(toml, env=env)
    assert says in info.value.message


def test_secrets_are_masked_in_show(tmp_path: Path) -> None:
    """Secret keys show *** once set."""
    cfg = load_config(None, env={"GNOMON_LLM_API_KEY": "sk-123"})
    assert cfg["llm.api_key"] == "sk-123"
    assert cfg.settings["llm.api_key"].shown() == "***"


def test_home_resolution_and_private_files(tmp_path: Path) -> None:
    """--home > GNOMON_HOME > XDG_DATA_HOME/gnomon; the home is 0700, the token 0600."""
    assert resolve_home("/x/y", {"GNOMON_HOME": "/z"}) == Path("/x/y")
    assert resolve_home(None, {"GNOMON_HOME": str(tmp_path / "h")}) == tmp_path / "h"
    assert resolve_home(None, {"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "gnomon"
    home = Home(tmp_path / "home").create()
    token = home.admin_token()
    assert len(token) > 30
    assert home.admin_token() == token
    assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.token_file.stat().st_mode) == 0o600


def test_open_sections_for_hooks_secrets_prices_and_agents(tmp_path: Path) -> None:
    """hooks.*, webhook.secrets.*, llm.prices.<model>.input|output and agents.<name>.cmd
    are accepted per name, typed, shown (secrets masked) and read back by section."""
    toml = tmp_path / "config.toml"
    toml.write_text(
        "[hooks]\ndeploy = ['notify-send deployed', 'logger deployed']\nsingle = 'echo one'\n"
        "[webhook.secrets]\nci = 'hunter2'\n"
        "[llm.prices.'gpt-4o-mini']\ninput = 0.15\noutput = 0.6\n"
        "[agents.reviewer]\ncmd = 'codex exec {task}'\ntask_via = 'arg'\n"
    )
    config = load_config(toml, {})
    assert config.section("hooks.") == {
        "deploy": ("notify-send deployed", "logger deployed"),
        "single": ("echo one",),
    }
    assert config.section("webhook.secrets.") == {"ci": "hunter2"}
    assert config.section("llm.prices.") == {"gpt-4o-mini.input": 0.15, "gpt-4o-mini.output": 0.6}
    assert config.section("agents.") == {
        "reviewer.cmd": "codex exec {task}",
        "reviewer.task_via": "arg",
    }
    shown = {row.key.name: row.shown() for row in config.rows()}
    assert shown["webhook.secrets.ci"] == "***"
    assert shown["hooks.deploy"] == "notify-send deployed; logger deployed"


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("[hooks]\ndeploy = []\n", "[]"),
        ("[llm.prices.m]\ninput = 'cheap'\n", "cheap"),
        ("[agents.bot]\ntask_via = 'pigeon'\n", "pigeon"),
        ("[hooks.deploy]\nwhen = 'x'\n", "hooks.deploy.when"),
    ],
)
def test_open_sections_refuse_bad_values_by_name(tmp_path: Path, text: str, token: str) -> None:
    """A bad value or a name outside the patterns is refused naming it."""
    toml = tmp_path / "config.toml"
    toml.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load_config(toml, {})
    assert token in caught.value.message


def test_store_url_from_flag_env_or_alias_and_bad_urls_refused() -> None:
    """``store.url``: empty (SQLite) by default; ``$GNOMON_STORE_URL`` wins over the short
    ``$GNOMON_STORE``; anything but a PostgreSQL URL with a database is refused naming the
    accepted forms, without echoing a password."""
    assert load_config()["store.url"] == ""
    url = "postgresql://gnomon@db:5432/gnomon"
    assert load_config(env={"GNOMON_STORE": url})["store.url"] == url
    both = {"GNOMON_STORE": "postgresql://a@x/one", "GNOMON_STORE_URL": url}
    assert load_config(env=both).settings["store.url"].value == url
    assert load_config(flags={"store.url": url})["store.url"] == url
    for bad in ("mysql://u:hunter2@db/gnomon", "postgresql://u:hunter2@db", "gnomon.db"):
        with pytest.raises(InvalidInput, match="postgresql://USER") as refused:
            load_config(env={"GNOMON_STORE": bad})
        assert "hunter2" not in str(refused.value)
