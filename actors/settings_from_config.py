"""The daemon's configuration turned into the engine's and the executors' settings.

Pure translation (no I/O): :func:`exec_settings` builds :class:`ExecSettings` from the
typed config, including its open sections (``hooks.*``, ``webhook.secrets.*``,
``llm.prices.<model>.input|output``, ``agents.<profile>.cmd|task_via``);
:func:`engine_config` builds :class:`EngineConfig`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gnomon.actors.admission import AdmissionConfig
from gnomon.actors.core.breaker.machine import BreakerConfig
from gnomon.actors.drain import STOP_MARGIN
from gnomon.actors.exec.settings import AgentProfile, ExecSettings, LlmPrice, LlmSettings
from gnomon.actors.tree import EngineConfig
from gnomon.runtime.config import Config
from gnomon.runtime.errors import InvalidInput

__all__ = ["engine_config", "exec_settings"]


def exec_settings(home: Path, config: Config) -> ExecSettings:
    """Executor settings from the config (open sections: ``hooks.*``, ``webhook.secrets.*``,
    ``llm.prices.<model>.input|output``, ``agents.<profile>.cmd|task_via``).

    Raises:
        InvalidInput: an agent command that does not split, or a price missing a half.
    """
    secret_env = tuple(n.strip() for n in str(config["secrets.env"]).split(",") if n.strip())
    llm = LlmSettings(
        base_url=config["llm.base_url"] or None,
        api_key=config["llm.api_key"] or None,
        model=config["llm.model"],
        prices=_prices(config.section("llm.prices.")),
    )
    return ExecSettings(
        home=home,
        llm=llm,
        agents=_agents(config),
        hooks=config.section("hooks."),
        webhook_secrets=config.section("webhook.secrets."),
        secret_env=secret_env,
        shell_allow_bypass=bool(config["shell.allow_bypass"]),
    )


def _prices(flat: dict[str, float]) -> dict[str, LlmPrice]:
    models = {name.rsplit(".", 1)[0] for name in flat}
    for model in models:
        missing = [h for h in ("input", "output") if f"{model}.{h}" not in flat]
        if missing:
            raise InvalidInput(
                f"config llm.prices.{model} lacks {missing[0]}",
                accepted=[f"llm.prices.{model}.input = USD_PER_MTOK", "… .output = …"],
            )
    return {
        m: LlmPrice(input_per_mtok=flat[f"{m}.input"], output_per_mtok=flat[f"{m}.output"])
        for m in models
    }


def _agents(config: Config) -> dict[str, AgentProfile]:
    flat = config.section("agents.")
    default_via: Literal["arg", "stdin"] = (
        "stdin" if flat.get("default.task_via") == "stdin" else "arg"
    )
    profiles = {
        "default": AgentProfile.from_command_line(
            config["agents.default.cmd"], task_via=default_via
        )
    }
    for name in {n.rsplit(".", 1)[0] for n in flat if n.endswith(".cmd")}:
        via = flat.get(f"{name}.task_via", "arg")
        profiles[name] = AgentProfile.from_command_line(
            flat[f"{name}.cmd"], task_via="stdin" if via == "stdin" else "arg"
        )
    return profiles


def engine_config(config: Config) -> EngineConfig:
    """Engine settings from the config."""
    return EngineConfig(
        admission=AdmissionConfig(
            global_rps=config["limits.global_rps"],
            global_burst=config["limits.global_burst"],
            owner_rps=config["limits.owner_rps"],
            owner_burst=config["limits.owner_burst"],
            max_jobs=config["limits.max_jobs"],
            min_interval=config["limits.min_interval"],
            agents_enabled=config["agents.enabled"],
        ),
        breaker=BreakerConfig(
            threshold=config["breaker.threshold"],
            window=config["breaker.window"],
            cooldown=config["breaker.cooldown"],
        ),
        max_concurrency=config["limits.max_concurrency"],
        wait_save_every=config["store.wait_save_every"],
        batch_firing=config["engine.batch_firing"],
        batch_chunk=config["engine.batch_chunk"],
        llm_model=config["llm.model"],
        job_shutdown=config["daemon.drain_timeout"] + STOP_MARGIN,
    )
