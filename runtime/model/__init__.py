"""The domain model shared by the daemon, the CLI and agents: job specs, schedules,
conditions, actions, the three DSLs and the wire converter. Pure: no trio, no I/O."""

from __future__ import annotations
