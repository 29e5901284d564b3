"""The job actor shell: its mailbox loop, ports, event sinks, replace and runs.

The pure state machine it drives lives in :mod:`gnomon.actors.core.job`.
"""
