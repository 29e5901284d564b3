"""Configuration: every key typed, documented and validated, with its source.

Precedence (docs/operations.md): CLI flag > environment (``GNOMON_A_B`` for key ``a.b``) >
``config.toml`` in the home > built-in default. ``gnomon config show`` prints each
effective value and where it came from. An unknown key or a bad value is refused with the
key named and the accepted forms — nothing is silently ignored.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.bounds import DEFAULT_MIN_INTERVAL, INTERVAL_FLOOR
from gnomon.runtime.model.durations import DURATION_FORMS, format_duration, parse_duration

SOURCES = ("default", "file", "env", "flag")
STORE_URL_FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


@attrs.frozen(kw_only=True)
class Key:
    """One configuration key. ``kind``: str, int, float, bool, duration, choice, list
    (of command strings) or store_url (empty or a PostgreSQL URL)."""

    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    minimum: float | None = None
    env_alias: str = ""  # a shorter environment name, read when ``env`` is not set

    @property
    def env(self) -> str:
        return "GNOMON_" + self.name.replace(".", "_").upper()


def _k(name: str, kind: str, default: Any, doc: str, **kw: Any) -> Key:
    return Key(name=name, kind=kind, default=default, doc=doc, **kw)


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        _k("daemon.host", "str", "127.0.0.1", "address the gateway binds (loopback by default)"),
        _k("daemon.port", "int", 8765, "gateway port (0 picks a free one)", minimum=0),
        _k("daemon.drain_timeout", "duration", 30.0, "how long a stop waits for running actions"),
        _k("limits.global_rps", "float", 5.0, "new jobs per second, all owners", minimum=0),
        _k("limits.global_burst", "float", 20.0, "burst of new jobs, all owners", minimum=1),
        _k("limits.owner_rps", "float", 1.0, "new jobs per second per owner", minimum=0),
        _k("limits.owner_burst", "float", 10.0, "burst of new jobs per owner", minimum=1),
        _k(
            "limits.max_jobs",
            "int",
            100_000,
            "live jobs at most (terminal ones do not count)",
            minimum=1,
        ),
        _k("limits.max_concurrency", "int", 32, "actions running at once", minimum=1),
        _k(
            "limits.min_interval",
            "duration",
            DEFAULT_MIN_INTERVAL,
            "shortest interval or poll interval a new job may have (never below 10ms)",
            minimum=INTERVAL_FLOOR,
        ),
        _k("agents.enabled", "bool", True, "the kill switch for every agent token and job"),
        _k("agents.default.cmd", "str", "claude -p {task}", "the default agent profile's command"),
        _k("llm.base_url", "str", "", "OpenAI-compatible API base URL (…/v1)"),
        _k("llm.api_key", "str", "", "API key for llm.base_url", secret=True),
        _k("llm.model", "str", "gpt-4o-mini", "model for llm: actions and conditions"),
        _k(
            "store.synchronous",
            "choice",
            "normal",
            "SQLite durability (full survives power loss)",
            choices=("normal", "full"),
        ),
        _k(
            "store.start_check",
            "duration",
            10.0,
            "at most this long for SQLite's quick_check at start (0 skips it)",
        ),
        _k(
            "store.url",
            "store_url",
            "",
            "PostgreSQL database of the store (postgresql://…); empty: SQLite in the home",
            secret=True,
            env_alias="GNOMON_STORE",
        ),
        _k(
            "cluster.enabled",
            "bool",
            False,
            "share store.url's database with other daemons: partitions, leases (cluster.md)",
        ),
        _k("cluster.node", "str", "", "this daemon's name in gnomon nodes (default: the host)"),
        _k(
            "cluster.partitions",
            "int",
            64,
            "partitions of a new cluster database (fixed once created)",
            minimum=1,
        ),
        _k(
            "store.wait_save_every",
            "duration",
            300.0,
            "an unchanged wait poll is saved (count, last result) at most this often",
        ),
        _k(
            "engine.batch_firing",
            "bool",
            True,
            "fire due plain jobs in chunks, without activating their actors (engine.md)",
        ),
        _k(
            "engine.batch_chunk",
            "int",
            256,
            "fires (and run ends) committed in one transaction by the batch firer",
            minimum=1,
        ),
        _k("defaults.timeout", "duration", 300.0, "action timeout of new jobs"),
        _k("defaults.wait_timeout", "duration", 1800.0, "wait deadline of new jobs"),
        _k("defaults.poll", "duration", 5.0, "poll interval of new jobs"),
        _k("defaults.max_retries", "int", 3, "retries of new jobs", minimum=0),
        _k("defaults.ttl", "duration", 86400.0, "how long finished records are kept"),
        _k("breaker.threshold", "int", 5, "failures that open a breaker", minimum=1),
        _k("breaker.window", "duration", 60.0, "window in which failures count"),
        _k("breaker.cooldown", "duration", 30.0, "how long an open breaker refuses"),
        _k("gateway.max_message_bytes", "int", 1 << 20, "largest JSON-RPC frame", minimum=1024),
        _k("gateway.max_connections", "int", 256, "open WebSocket connections at most", minimum=1),
        _k(
            "gateway.max_inflight",
            "int",
            64,
            "requests of one connection running or unread at most (then it is not read)",
            minimum=1,
        ),
        _k(
            "gateway.auth_timeout",
            "duration",
            5.0,
            "a connection must send its request and authenticate within this, or is closed",
            minimum=0.1,
        ),
        _k(
            "gateway.allowed_hosts",
            "str",
            "",
            "more Host names the gateway answers (comma-separated name or name:port; * = any)",
        ),
        _k("shell.allow_bypass", "bool", False, "honour bypass_safety in jobs (trusted CI only)"),
        _k("secrets.env", "str", "", "comma-separated env names whose values are redacted"),
        _k(
            "metrics.per_job_max",
            "int",
            200,
            "jobs (oldest first) with per-job series in /metrics, besides tagged ones",
            minimum=0,
        ),
        _k(
            "metrics.per_job_tag",
            "str",
            "metrics=on",
            "the tag K=V that gives a job per-job series beyond the limit (K=off opts out)",
        ),
        _k(
            "log.level",
            "choice",
            "info",
            "daemon log level",
            choices=("debug", "info", "warning", "error"),
        ),
    )
}


@attrs.frozen
class Setting:
    """An effective value and where it came from."""

    key: Key
    value: Any
    source: str

    def shown(self) -> str:
        if self.key.secret and self.value:
            return "***"
        if self.key.kind == "duration":
            return format_duration(float(self.value))
        if self.key.kind == "bool":
            return "true" if self.value else "false"
        if self.key.kind == "list":
            return "; ".join(self.value)
        return str(self.value)


def _bad(key: Key, value: Any, source: str, accepted: tuple[str, ...]) -> InvalidInput:
    return InvalidInput(
        f"config {key.name} ({source}): bad value {value!r}",
        token=str(value),
        accepted=accepted,
        field=key.name,
    )


def coerce(key: Key, value: Any, source: str) -> Any:
    """``value`` (from TOML, env or a flag) as ``key``'s type.

    Raises:
        InvalidInput: naming the key, the source and the accepted forms.
    """
    text = str(value).strip()
    if key.kind == "bool":
        if isinstance(value, bool):
            return value
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise _bad(key, value, source, ("true", "false"))
    if key.kind == "duration":
        try:
            seconds = float(value) if isinstance(value, int | float) else parse_duration(text)
        except InvalidInput:
            raise _bad(key, value, source, DURATION_FORMS) from None
        if key.minimum is not None and not seconds >= key.minimum:
            least = f"a duration of at least {format_duration(key.minimum)}"
            raise _bad(key, value, source, (least,))
        return seconds
    if key.kind == "choice":
        if text.lower() not in key.choices:
            raise _bad(key, value, source, key.choices)
        return text.lower()
    if key.kind in ("int", "float"):
        try:
            number: float = int(text) if key.kind == "int" else float(text)
        except ValueError:
            raise _bad(
                key, value, source, (f"a {'whole ' if key.kind == 'int' else ''}number",)
            ) from None
        if key.minimum is not None and number < key.minimum:
            raise _bad(key, value, source, (f"a number >= {key.minimum:g}",))
        return number
    if key.kind == "store_url":
        parts = urlsplit(text)
        if text and (parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/")):
            shown = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()
            raise _bad(key, shown, source, (STORE_URL_FORM, '"" (SQLite in the home)'))
        return text
    if key.kind == "list":
        if isinstance(value, str) and text:
            return (text,)
        if (
            isinstance(value, list | tuple)
            and value
            and all(isinstance(v, str) and v.strip() for v in value)
        ):
            return tuple(v.strip() for v in value)
        raise _bad(key, value, source, ('"command"', '["command", "another command"]'))
    return "" if value is None else str(value)


# Open-ended sections: one key per event, secret, model or profile (file and flags only —
# an environment variable name cannot tell ``agents.my_bot.cmd`` from ``agents.my.bot_cmd``).
PATTERNS: tuple[Key, ...] = (
    _k("hooks.*", "list", (), "commands run for a hook:EVENT action (event JSON on stdin)"),
    _k("webhook.secrets.*", "str", "", "HMAC-SHA256 key for X-Gnomon-Signature", secret=True),
    _k("llm.prices.*.input", "float", 0.0, "USD per million prompt tokens", minimum=0),
    _k("llm.prices.*.output", "float", 0.0, "USD per million completion tokens", minimum=0),
    _k("agents.*.cmd", "str", "", "command of agent profile * ({task} or appended)"),
    _k("agents.*.task_via", "choice", "arg", "how the task reaches it", choices=("arg", "stdin")),
)


def _pattern_key(name: str) -> Key | None:
    parts = name.split(".")
    for pattern in PATTERNS:
        want = pattern.name.split(".")
        if len(want) == len(parts) and all(w in ("*", p) for w, p in zip(want, parts, strict=True)):
            return attrs.evolve(pattern, name=name)
    return None


def _key(name: str, source: str) -> Key:
    key = KEYS.get(name) or _pattern_key(name)
    if key is None:
        close = difflib.get_close_matches(name, KEYS, n=3)
        raise InvalidInput(
            f"unknown config key {name!r} ({source})",
            token=name,
            accepted=close or sorted(KEYS)[:8],
            hint="`gnomon config show` lists every key",
        )
    return key


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in table.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    """The dotted keys of a ``config.toml`` (empty if there is none).

    Raises:
        InvalidInput: the file is not valid TOML (the error's line is named).
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        return _flatten(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}", token=str(path)) from None


@attrs.frozen
class Config:
    """Every effective setting."""

    settings: dict[str, Setting]

    def __getitem__(self, name: str) -> Any:
        return self.settings[name].value

    def rows(self) -> list[Setting]:
        return [self.settings[name] for name in sorted(self.settings)]

    def section(self, prefix: str) -> dict[str, Any]:
        """The values of an open-ended section by the rest of their name:
        ``section("hooks.")`` → ``{"deploy": ("cmd",)}``."""
        return {
            name[len(prefix) :]: setting.value
            for name, setting in sorted(self.settings.items())
            if name.startswith(prefix) and name not in KEYS
        }


def load_config(
    file: Path | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Merge the four sources (see the module docstring).

    Raises:
        InvalidInput: an unknown key in the file or flags, or a bad value anywhere.
    """
    settings = {name: Setting(key, key.default, "default") for name, key in KEYS.items()}
    for name, value in (read_toml(file) if file is not None else {}).items():
        key = _key(name, "config.toml")
        settings[name] = Setting(key, coerce(key, value, "config.toml"), "file")
    for key in KEYS.values():
        for name in (key.env, key.env_alias) if key.env_alias else (key.env,):
            raw = (env or {}).get(name)
            if raw is not None:
                settings[key.name] = Setting(key, coerce(key, raw, name), "env")
                break
    for name, value in (flags or {}).items():
        if value is None:
            continue
        key = _key(name, "flag")
        settings[name] = Setting(key, coerce(key, value, "flag"), "flag")
    return Config(settings)
