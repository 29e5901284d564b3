-- gnomon cluster membership (docs/cluster.md). Idempotent: run by every node at start
-- under an advisory lock. Times are the database's (timestamptz, now()).
CREATE TABLE IF NOT EXISTS cluster_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- One row per daemon boot: a restarted daemon is a new member with a new boot_id, so a
-- lease or a partition can never be confused with an earlier life of the same node.
CREATE TABLE IF NOT EXISTS cluster_nodes (
    boot_id     text PRIMARY KEY,
    node        text NOT NULL,         -- the node's name (cluster.node, default the host)
    host        text NOT NULL,
    pid         integer NOT NULL,
    url         text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    beat_at     timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cluster_nodes_lease ON cluster_nodes (lease_until);

-- A fixed set of partitions; a job belongs to crc32(id) % count. The owner is a boot, and
-- epoch grows by one at every take, so a write fenced by (p, epoch) is refused once the
-- partition has moved on, even if it came back to the same node.
CREATE TABLE IF NOT EXISTS cluster_partitions (
    p           integer PRIMARY KEY,
    owner_boot  text,                  -- NULL: free
    epoch       bigint NOT NULL DEFAULT 0,
    acquired_at timestamptz
);
CREATE INDEX IF NOT EXISTS cluster_partitions_owner ON cluster_partitions (owner_boot);

-- What is global (docs/cluster.md): the live-name check of names.py and the dependents
-- of commands_sql.py read these partial indexes (their predicate is names.LIVE); the
-- store creates `jobs` before the cluster joins.
DO $$ BEGIN
    IF to_regclass('jobs') IS NOT NULL THEN
        CREATE INDEX IF NOT EXISTS jobs_live_name ON jobs (name)
            WHERE status NOT IN ('cancelled', 'completed', 'failed', 'skipped', 'timed_out');
        CREATE INDEX IF NOT EXISTS jobs_live_dependents ON jobs (id)
            WHERE depends_on <> '[]'
            AND status NOT IN ('cancelled', 'completed', 'failed', 'skipped', 'timed_out');
    END IF;
END $$;

-- Commands between nodes (commands_core.py): a node asks the owner of a job's partition
-- to apply an operation; the owner claims the row, applies it once, writes the result.
CREATE TABLE IF NOT EXISTS cluster_commands (
    id            bigserial PRIMARY KEY,
    job_id        text NOT NULL,
    p             integer NOT NULL,       -- the job's partition when the command was sent
    command       text NOT NULL,          -- cancel, pause, resume, run_now
    params        text NOT NULL DEFAULT '{}',
    from_boot     text NOT NULL,          -- the calling node's boot
    created_at    timestamptz NOT NULL DEFAULT now(),
    claimed_boot  text,                   -- the owner that took it (NULL: not yet)
    claimed_epoch bigint,                 -- the partition's epoch when it was taken
    claimed_at    timestamptz,
    result        text,                   -- {"ok": true} or {"error": {code, message, data}}
    done_at       timestamptz
);
CREATE INDEX IF NOT EXISTS cluster_commands_open ON cluster_commands (p) WHERE done_at IS NULL;
CREATE INDEX IF NOT EXISTS cluster_commands_done ON cluster_commands (done_at);
