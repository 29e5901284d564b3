"""Garbage-collector settings for a process that holds many long-lived objects.

A daemon keeps every live job in its index and every active job's state and actor in
memory; most of what it allocates per fire (messages, replies, events) dies young.
CPython's default thresholds ``(700, 10, 10)`` make it walk the whole heap often: in a
storm of 5,000 one-shot jobs (bench W1) ten full collections took 2.0 s of the 6 s the
storm lasted, and each stalled the event loop for ~200 ms. With a larger young
generation and rare full collections the same storm spent 0.3 s in the collector (young
collections of ~4 ms each) and fired 40 % faster. ``gc.freeze()`` after boot moves
the jobs loaded at start out of the collector's sight for good.
"""

from __future__ import annotations

import gc

#: ``gc.set_threshold`` values: young collections every 10k net allocations, a middle
#: one every 50 of those, a full one only after 1,000 middle ones (and CPython's own
#: rule that a quarter of the long-lived objects be new since the last one).
THRESHOLDS = (10_000, 50, 1_000)


def tune() -> None:
    """Apply :data:`THRESHOLDS` (process-wide; call once at start)."""
    gc.set_threshold(*THRESHOLDS)


def freeze_boot_objects() -> None:
    """Collect once, then exempt every object alive now from later collections (the
    index and states loaded at boot live as long as the daemon)."""
    gc.collect()
    gc.freeze()
