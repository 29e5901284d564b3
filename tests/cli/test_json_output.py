"""``--json`` output: the daemon's plain answers are printed as they are, without loading
the wire converter (start-up time, docs/performance.md); attrs values still go through it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from gnomon.cli.jobspec import spec_from_options
from gnomon.cli.output import is_plain_json, to_json
from gnomon.runtime.model import wire

PLAIN = {"id": "abc", "runs": [{"n": 1, "ok": True, "took": 0.5, "err": None}], "tags": {}}


def test_plain_json_is_printed_as_it_is_without_the_wire_converter() -> None:
    """print_json of a daemon answer (plain JSON) prints it and never imports cattrs."""
    code = (
        "import sys, json\n"
        "from gnomon.cli.output import print_json\n"
        f"print_json({PLAIN!r})\n"
        "assert 'cattrs' not in sys.modules and 'gnomon.runtime.model.wire' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('{\n  "id": "abc",')


def test_what_is_not_plain_goes_through_the_wire_converter() -> None:
    """attrs values, tuples, datetimes and non-string keys are not plain; to_json gives
    what wire.unstructure gives."""
    spec = spec_from_options({"name": "x", "do": "noop", "every": "1h"}, now=datetime.now(UTC))
    for value in (spec, {"spec": spec}, [1, (2, 3)], {"at": datetime.now(UTC)}, {1: "a"}):
        assert not is_plain_json(value)
        assert to_json(value) == wire.unstructure(value)
    assert is_plain_json(PLAIN)
    assert to_json(PLAIN) is PLAIN
