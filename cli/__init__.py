"""gnomon's command line: a thin client of the daemon (and the daemon's launcher).

The CLI imports only the public parts of :mod:`gnomon.runtime` (see
``docs/architecture.md``, "Dependency rule"); ``tests/test_import_rules.py`` checks it.
"""

from __future__ import annotations
