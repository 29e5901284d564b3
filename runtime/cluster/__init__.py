"""Several daemons on one PostgreSQL: partitions with leases and epochs (docs/cluster.md).

- :mod:`.core` — the pure rules: fair share, lease trust, clock offset (no trio).
- :mod:`.sql` and ``schema.sql`` — members, partitions, takes, hand-overs, the fence check.
- :mod:`.membership` — the actor keeping one node's lease and partitions; self-fencing
  (:mod:`.links`: its connections and kills).
- What is global (any node accepts any call): :mod:`.names` — unique live names in
  the commit's transaction;
  :mod:`.lookups` — jobs by reference in the database, the live-job count;
  :mod:`.commands` (rules in :mod:`.commands_core`, statements in :mod:`.commands_sql`)
  — commands sent to a job's owner through ``cluster_commands``.
- :mod:`.fence` — the ``PgStore`` fence; :mod:`.clock` — the database clock;
  :mod:`.metrics` — the Prometheus metrics; :mod:`.nodes` — ``cluster.nodes``;
  :mod:`.setup` — a daemon's parts from ``cluster.*``.
- :mod:`.tail` — the event tail: every node's events on this node's bus, in ``seq``
  order (:mod:`.tail_core`: its pure cursor).

Importing this package needs psycopg (the ``gnomon[postgres]`` extra).
"""
