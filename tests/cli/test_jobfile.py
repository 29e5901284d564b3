"""Job files of ``gnomon apply -f`` (cli/jobfile.py): the docs example, the three formats,
strict keys, and the same meaning as the ``schedule`` flags (no daemon)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gnomon.cli.apply_cmd import load
from gnomon.cli.jobfile import read_file, specs_of
from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.errors import Conflict, InvalidInput

NOW = datetime(2026, 4, 30, 20, 0, tzinfo=UTC)


def specs(path: str, text: str) -> list[Any]:
    return specs_of(path, read_file(path, text), now=NOW, tz="UTC")


def test_json_toml_and_a_bare_list_read_alike() -> None:
    """The same jobs as JSON (a bare list), TOML (``[[jobs]]``) and YAML are equal."""
    as_yaml = specs("a.yml", "- {name: n, every: 5m, do: noop, tags: [k=v]}\n")
    as_json = specs("a.json", json.dumps({"jobs": [{"name": "n", "every": 300, "do": "noop",
                                                    "tag": {"k": "v"}}]}))  # fmt: skip
    as_toml = specs("a.toml", '[[jobs]]\nname = "n"\nevery = "5m"\ndo = "noop"\ntags = ["k=v"]\n')
    assert as_yaml == as_json == as_toml


def test_yaml_times_are_read_as_written() -> None:
    """An unquoted YAML timestamp (which YAML makes a datetime) means the time written."""
    (job,) = specs("t.yaml", "jobs:\n  - {name: t, at: 2030-01-02T03:04:05Z, do: noop}\n")
    assert job.schedule.at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[{"name": "j", "do": "noop", "evry": "5m"}]', r"job 0 \(j\): unknown key\(s\) evry"),
        ('[{"do": "noop"}]', "job 0: every job needs a name"),
        ('[{"name": "j", "do": "noop", "i_know": "yes"}]', "i_know: expected true or false"),
        ('[{"name": "j", "do": ["noop"]}]', "do: expected a string or a number"),
        ('[{"name": "j", "do": "noop", "every": "5x"}]', r"job 0 \(j\): .*bad duration '5x'"),
        ('[{"name": "j", "do": "noop", "tag": ["a"], "tags": ["b"]}]', "tag and tags both"),
        ('{"job": []}', "expected a list of jobs"),
        ("[1, 2", "not valid json"),
    ],
)
def test_bad_files_name_the_file_the_job_and_the_problem(text: str, match: str) -> None:
    """Every mistake is an InvalidInput naming the file and, where there is one, the job."""
    with pytest.raises(InvalidInput, match=match) as err:
        specs("bad.json", text)
    assert err.value.message.startswith("bad.json: ")


def test_unknown_extensions_and_names_given_twice_are_refused(tmp_path: Path) -> None:
    """A file that is no YAML/JSON/TOML is refused; a name given twice across files too."""
    with pytest.raises(InvalidInput, match=r"unknown job file type '\.txt'"):
        read_file(str(tmp_path / "jobs.txt"), "")
    one, two = tmp_path / "a.json", tmp_path / "b.yaml"
    one.write_text('[{"name": "dup", "do": "noop"}]')
    two.write_text("- {name: dup, do: noop, every: 1h}\n")
    with pytest.raises(Conflict, match="'dup' is given twice"):
        load((str(one), str(two)), NOW)


durations = st.sampled_from(["5m", "1h", 90, 30.5, "2h30m"])
options = st.fixed_dictionaries(
    {"name": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), "do": st.sampled_from(
        ["noop", "shell: make test", "POST https://x.example/hook", "llm: summarise"])},
    optional={
        "every": durations,
        "timeout": durations,
        "max_retries": st.integers(0, 9),
        "tags": st.lists(st.sampled_from(["a", "b=c", "team=ops"]), max_size=2, unique=True),
        "env": st.lists(st.sampled_from(["A=1", "B="]), max_size=2, unique=True),
        "depends_on": st.lists(st.sampled_from(["x", "y"]), max_size=2, unique=True),
        "overlap": st.sampled_from(["skip", "queue", "allow"]),
        "i_know": st.booleans(),
        "description": st.text(max_size=10),
    },
)  # fmt: skip


@given(options)
def test_a_job_in_a_file_means_what_its_flags_mean(job: dict[str, Any]) -> None:
    """A job read from JSON or YAML is the spec the same options make on the command
    line."""
    flags = {k: v for k, v in job.items() if v != [] and v is not False}
    expected = spec_from_options(flags, now=NOW, tz="UTC")
    assert specs("j.json", json.dumps([job])) == [expected]
    assert specs("j.yaml", yaml.safe_dump({"jobs": [job]})) == [expected]
