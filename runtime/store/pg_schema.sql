-- gnomon store on PostgreSQL, schema version 1 (docs/store.md, "The PostgreSQL store").
-- The same tables as SQLite's schema.sql; times that are part of a key are ISO 8601 UTC
-- text (fire_time), *_ts columns are unix seconds; records are wire JSON text.
-- rowid columns keep the storage order SQLite's rowid gives (job pages, token order).

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS jobs (
    rowid       BIGSERIAL UNIQUE,
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    parent_id   TEXT,
    wake_ts     DOUBLE PRECISION,
    updated_ts  DOUBLE PRECISION NOT NULL,
    prune_ts    DOUBLE PRECISION,
    tags        TEXT NOT NULL,
    depends_on  TEXT NOT NULL,
    state       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE INDEX IF NOT EXISTS jobs_prune ON jobs (prune_ts) WHERE prune_ts IS NOT NULL;

CREATE TABLE IF NOT EXISTS fires (
    job_id     TEXT NOT NULL,
    fire_time  TEXT NOT NULL,
    claimed_ts DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_id, fire_time)
);

CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL,
    started_ts  DOUBLE PRECISION NOT NULL,
    finished_ts DOUBLE PRECISION,
    boot_id     TEXT NOT NULL,
    record      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job_id, started_ts);
CREATE INDEX IF NOT EXISTS runs_open ON runs (boot_id) WHERE finished_ts IS NULL;

CREATE TABLE IF NOT EXISTS events (
    seq       BIGINT PRIMARY KEY,
    type      TEXT NOT NULL,
    ts        DOUBLE PRECISION NOT NULL,
    job_id    TEXT,
    event     TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    mac       BYTEA
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, seq);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);

-- The chain's head: one row, locked FOR UPDATE by every transaction that seals events,
-- so seq is gap-free and commit order is seq order whoever writes.
CREATE TABLE IF NOT EXISTS chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL,
    mac  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS boots (
    boot_id    TEXT PRIMARY KEY,
    started_ts DOUBLE PRECISION NOT NULL,
    stopped_ts DOUBLE PRECISION,
    clean      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE IF NOT EXISTS inbox (
    id         BIGSERIAL PRIMARY KEY,
    owner      TEXT NOT NULL,
    job_id     TEXT,
    created_ts DOUBLE PRECISION NOT NULL,
    read_ts    DOUBLE PRECISION,
    item       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_owner ON inbox (owner, read_ts, id);

CREATE TABLE IF NOT EXISTS tokens (
    rowid      BIGSERIAL UNIQUE,
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    revoked_ts DOUBLE PRECISION,
    record     TEXT NOT NULL
);
