-- Scheduled sources (URL pulls, SQL queries), their runs, and leases on jobs.
--
-- Kept step for step in line with ../sqlite/0003_sources.sql; the test `sqlite_and_postgres_schemas_match`
-- compares the two. Same conventions as 0001: timestamps are RFC 3339 UTC TEXT with milliseconds (so they sort as
-- text), booleans are the integers 0 and 1 on both databases.

-- At most one source per dataset: where new versions come from.
CREATE TABLE dataset_sources (
    dataset_id BIGINT PRIMARY KEY NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    -- url | sql
    kind TEXT NOT NULL,
    url TEXT,
    -- The connection string as given (`postgres://…`, `mysql://…`, or `env:NAME` to read it from the server's
    -- environment). Never returned by the API unredacted.
    sql_connection TEXT,
    sql_query TEXT,
    -- Cron expression (5 fields, or 6 with seconds) in Asia/Taipei time; NULL: manual runs only.
    schedule TEXT,
    enabled BIGINT NOT NULL,
    -- When the scheduler should next enqueue a run; advanced by whoever enqueues it (compare-and-set), so a due
    -- time is taken exactly once across processes.
    next_run_at TEXT,
    -- Validators of the response the current content came from, for conditional GETs.
    etag TEXT,
    last_modified TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX dataset_sources_by_next_run ON dataset_sources (next_run_at);

-- One row per run of a source, kept after the source is deleted (the quality checks read them); the id is the id
-- of the job that performs the run.
CREATE TABLE source_runs (
    id TEXT PRIMARY KEY NOT NULL,
    dataset_id BIGINT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    -- manual | schedule
    trigger_kind TEXT NOT NULL,
    -- The schedule slot this run is for (schedule runs only).
    scheduled_for TEXT,
    -- queued | running | new_version | unchanged | failed
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    http_status BIGINT,
    bytes BIGINT,
    version_seq BIGINT,
    error_code TEXT,
    error_message TEXT,
    -- Requests (URL) or connections (SQL) tried, retries included.
    attempts BIGINT NOT NULL,
    -- Which process ran it last (`host:pid:random`), to tell takeovers apart.
    claimed_by TEXT
);

CREATE INDEX source_runs_by_dataset ON source_runs (dataset_id, created_at);

-- Leases: a queued job becomes runnable at `run_after`; a process claims it by writing its name and a lease expiry,
-- renews the lease while it works, and another process may take the job over once the lease has expired (the
-- first one died). `attempts` counts claims.
ALTER TABLE jobs ADD COLUMN run_after TEXT;
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at TEXT;
ALTER TABLE jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;

CREATE INDEX jobs_claimable ON jobs (kind, status, run_after);
