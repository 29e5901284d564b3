"""Job files for ``gnomon apply -f``: YAML, JSON or TOML lists of jobs whose keys are the
``gnomon schedule`` flags with underscores (the MCP ``schedule`` tool's parameters).

A file holds ``jobs:`` — a list of tables — or (YAML, JSON) just the list. Each job goes
through :func:`~gnomon.cli.jobspec.spec_from_options`, exactly as the same flags would on
the command line, so every value means what it means there; ``tags``/``tag`` and ``env``
may also be mappings (``{team: ops}``). Unknown keys, values of the wrong kind and
duplicate names are errors naming the file, the job and the accepted keys; nothing is
sent to the daemon unless the whole file reads (docs/commands.md, ``gnomon apply``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gnomon.cli.jobspec import spec_from_options
from gnomon.cli.schedule_cmd import REPEATABLE_FLAGS, SCHEDULE_FLAGS
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.job import JobSpec

FORMATS = (".yaml", ".yml", ".json", ".toml")
FLAGS = frozenset({"i_know", "stop_on_failure"})
LISTS = frozenset(f.lstrip("-").replace("-", "_") for f, _, _ in REPEATABLE_FLAGS) | {"tags"}
KEYS = frozenset(
    {"name", *FLAGS, *LISTS, *(f.lstrip("-").replace("-", "_") for f, _, _ in SCHEDULE_FLAGS)}
)


def read_file(path: str, text: str | None = None) -> list[dict[str, Any]]:
    """The job tables of ``path`` (``text`` is its content when already read: stdin).

    Raises:
        InvalidInput: an unknown extension, a syntax error, or no ``jobs`` list.
    """
    suffix = Path(path).suffix.lower()
    if path != "-" and suffix not in FORMATS:
        raise InvalidInput(
            f"{path}: unknown job file type {suffix or '(none)'!r}",
            token=path,
            accepted=[f"*{f}" for f in FORMATS],
        )
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot read it: {exc.strerror}", token=path) from None
    return _jobs_of(path, _parse(path, suffix, text))


def _parse(path: str, suffix: str, text: str) -> Any:
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        import yaml  # only YAML files pay for the parser (docs/performance.md)

        return yaml.safe_load(text)  # YAML 1.1: JSON reads the same way
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise InvalidInput(f"{path}: not valid {suffix.lstrip('.') or 'YAML'}: {exc}") from None
    except Exception as exc:  # yaml.YAMLError, kept out of the import-time path
        raise InvalidInput(f"{path}: not valid YAML: {exc}") from None


def _jobs_of(path: str, data: Any) -> list[dict[str, Any]]:
    jobs = data.get("jobs") if isinstance(data, dict) and set(data) <= {"jobs"} else data
    if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
        raise InvalidInput(
            f"{path}: expected a list of jobs (each a table of schedule flags)",
            token=path,
            accepted=["jobs: [{name: …, do: …, every: …}, …]", "[[jobs]] tables (TOML)"],
        )
    return jobs


def specs_of(
    path: str, jobs: list[dict[str, Any]], *, now: datetime, tz: str | None = None
) -> list[JobSpec]:
    """Each job table of ``path`` as a validated spec.

    Raises:
        InvalidInput: naming the file, the job (index and name) and what is wrong.
    """
    out: list[JobSpec] = []
    for index, job in enumerate(jobs):
        name = job.get("name")
        where = f"{path}: job {index}" + (f" ({name})" if isinstance(name, str) else "")
        try:
            spec = spec_from_options(options_of(job), now=now, tz=tz)
        except InvalidInput as exc:
            exc.message = f"{where}: {exc.message}"
            exc.args = (exc.message,)
            raise
        out.append(spec)
    return out


def options_of(job: Mapping[str, Any]) -> dict[str, Any]:
    """One job table → the option mapping of ``spec_from_options`` (strict about keys and
    the kind of each value).

    Raises:
        InvalidInput: an unknown key, a missing name, a value of the wrong kind.
    """
    unknown = sorted(set(job) - KEYS)
    if unknown:
        raise InvalidInput(
            f"unknown key(s) {', '.join(map(str, unknown))}",
            token=", ".join(map(str, unknown)),
            accepted=sorted(KEYS),
        )
    if not isinstance(job.get("name"), str):
        raise InvalidInput("every job needs a name (a string)", field="name", token="name")
    if "tag" in job and "tags" in job:
        raise InvalidInput("tag and tags both give the tags; give one", field="tags", token="tag")
    return {key: _value(key, value) for key, value in job.items() if value is not None}


def _value(key: str, value: Any) -> Any:
    if key in FLAGS:
        if not isinstance(value, bool):
            raise _kind(key, value, "true or false")
        return value
    if key in LISTS:
        if isinstance(value, Mapping) and key in ("tag", "tags", "env"):
            return [_pair(key, k, v) for k, v in value.items()]
        items = value if isinstance(value, list) else [value]
        return [_scalar(key, item) for item in items]
    return _scalar(key, value)


def _pair(key: str, name: Any, value: Any) -> str:
    """A mapping item as ``k=v`` (a tag without a value as ``k``)."""
    if value is None or (value == "" and key != "env"):
        return str(name)
    return f"{name}={_scalar(key, value)}"


def _scalar(key: str, value: Any) -> str | int | float:
    if isinstance(value, datetime | date):  # YAML reads unquoted times as times
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _kind(key, value, "a string or a number")
    return value


def _kind(key: str, value: Any, expected: str) -> InvalidInput:
    return InvalidInput(
        f"{key}: expected {expected}, got {type(value).__name__} {value!r}",
        token=str(value),
        field=key,
    )
