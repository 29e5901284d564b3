"""gnomon's domain actors: jobs, wait-pollers, breakers and their pure decision cores.

Pure cores (no trio) live in :mod:`gnomon.actors.core`; the actor shells here wrap them.
"""

from __future__ import annotations
