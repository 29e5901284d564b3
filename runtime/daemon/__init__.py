"""The composition root: builds the daemon's supervisor tree and runs it.

The only ``gnomon.runtime`` package that imports ``gnomon.actors`` (the dependency rule):
``options`` (how to run, what ``daemon.json`` holds), ``build`` (the parts, wired once)
and ``run`` (start, serve, stop).

::

    root      one_for_all, intensity 0 — a gave-up child ends the process non-zero
    ├── infra  rest_for_one, 3/60 s: store writer, retention
    ├── core   the engine (actors/tree.py)
    └── edge   one_for_one, 5/60 s: the gateway (HTTP + WebSocket on one port)

Start: lock the home (a second daemon is refused naming the first), open the store, begin
a boot, start the tree, recover (index, orphans, activations), announce
``daemon.started``, write ``daemon.json``. Stop (SIGTERM/SIGINT; SIGQUIT for ``--now``):
``daemon.stopped``, then the tree stops in reverse order — the gateway closes, job actors
drain (running actions get ``daemon.drain_timeout``, then are interrupted: killed and
recorded ``interrupted``, re-run at the next start; progress in ``stop.json``; waits stay
persisted as waiting), the store writer commits what is queued — the boot is marked
clean, ``daemon.json`` removed, the lock released.
"""
