"""The dashboard's pure JavaScript (the events panel's seq merge and paging, how events
read), property-tested under node (tests/dashboard/eventlog.test.mjs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NODE = shutil.which("node") or shutil.which("nodejs")
HERE = Path(__file__).parent


@pytest.mark.skipif(NODE is None, reason="no node binary (apt-get install nodejs) to run the JS")
def test_eventlog_properties_under_node() -> None:
    """node's test runner passes every case of eventlog.test.mjs."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--test", str(HERE / "eventlog.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
