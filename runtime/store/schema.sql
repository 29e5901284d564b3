-- gnomon store, schema version 2 (1 had no events.mac).
-- Times are ISO 8601 UTC text (fire_time canonical: it is part of a unique key);
-- *_ts columns are unix seconds for range queries.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    parent_id   TEXT,
    wake_ts     REAL,            -- the job's next timer, for the boot index
    updated_ts  REAL NOT NULL,
    prune_ts    REAL,            -- finished_at + ttl for terminal jobs
    tags        TEXT NOT NULL,   -- JSON object
    depends_on  TEXT NOT NULL,   -- JSON list of job ids
    state       TEXT NOT NULL    -- JobState as wire JSON
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_prune ON jobs (prune_ts) WHERE prune_ts IS NOT NULL;

-- A slot is recorded exactly once: the claim is the invariant.
CREATE TABLE IF NOT EXISTS fires (
    job_id     TEXT NOT NULL,
    fire_time  TEXT NOT NULL,
    claimed_ts REAL NOT NULL,
    PRIMARY KEY (job_id, fire_time)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL,
    started_ts  REAL NOT NULL,
    finished_ts REAL,
    boot_id     TEXT NOT NULL,
    record      TEXT NOT NULL    -- RunRecord as wire JSON (output tail capped)
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job_id, started_ts);
CREATE INDEX IF NOT EXISTS runs_open ON runs (boot_id) WHERE finished_ts IS NULL;

CREATE TABLE IF NOT EXISTS events (
    seq       INTEGER PRIMARY KEY,
    type      TEXT NOT NULL,
    ts        REAL NOT NULL,
    job_id    TEXT,
    event     TEXT NOT NULL,     -- the docs/protocol.md event as JSON (hash included)
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    mac       BLOB               -- HMAC-SHA256(audit key, hash); NULL before chain_keyed_from
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, seq);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);

CREATE TABLE IF NOT EXISTS boots (
    boot_id    TEXT PRIMARY KEY,
    started_ts REAL NOT NULL,
    stopped_ts REAL,
    clean      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS inbox (
    id         INTEGER PRIMARY KEY,
    owner      TEXT NOT NULL,
    job_id     TEXT,
    created_ts REAL NOT NULL,
    read_ts    REAL,
    item       TEXT NOT NULL     -- JSON
);
CREATE INDEX IF NOT EXISTS inbox_owner ON inbox (owner, read_ts, id);

CREATE TABLE IF NOT EXISTS tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    revoked_ts REAL,
    record     TEXT NOT NULL     -- JSON
);
