"""The job's pure state machine: messages, steps, slots, fires, runs and recovery.

No trio, no store: every step maps a state and a message to a new state and the effects
the shell (:mod:`gnomon.actors.job.actor`) must perform.
"""
