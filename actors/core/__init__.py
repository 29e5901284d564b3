"""Pure decision cores of the domain actors: functions of (state, input) with no trio, no
I/O and no clock reads. ``tests/test_import_rules.py`` enforces that nothing here imports
trio, directly or through another gnomon module."""

from __future__ import annotations
