-- Accounts, organisation roles, sessions, API keys, dataset access levels, access applications, the audit log,
-- usage meters and shared rate-limit buckets.
--
-- Kept step for step in line with ../postgres/0004_access.sql; the test `sqlite_and_postgres_schemas_match`
-- compares the two. Same conventions as 0001: timestamps are RFC 3339 UTC TEXT with milliseconds, booleans are the
-- integers 0 and 1, secrets are stored only as SHA-256 (API keys, session and reset tokens: 256 random bits, so a
-- fast hash is enough) or argon2id (passwords, which people choose).

-- public | registered | application | restricted
ALTER TABLE datasets ADD COLUMN access_level TEXT NOT NULL DEFAULT 'public';
ALTER TABLE datasets ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Lowercased by the application, so sign-in is case-insensitive on both databases.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- PHC string (`$argon2id$v=19$…`); NULL for an account that has never set a password (invited, or OpenID
    -- Connect only).
    password_hash TEXT,
    site_admin INTEGER NOT NULL,
    -- Consecutive failed sign-ins; reset by a successful one.
    failed_sign_ins INTEGER NOT NULL,
    locked_until TEXT,
    -- The seam for OpenID Connect sign-in: issuer and subject of a linked identity.
    oidc_issuer TEXT,
    oidc_subject TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Organisations are the publishers of 0001.
CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    publisher_id INTEGER NOT NULL REFERENCES publishers (id) ON DELETE CASCADE,
    -- member | reviewer | editor | org-admin
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, publisher_id)
) STRICT;

CREATE INDEX memberships_by_publisher ON memberships (publisher_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    -- A public id (for sign-out of other sessions and the audit log), distinct from the secret.
    id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Synchronizer token: state-changing browser requests must echo it.
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    -- read | publish
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
) STRICT;

CREATE INDEX api_keys_by_user ON api_keys (user_id);

CREATE TABLE access_applications (
    id TEXT PRIMARY KEY NOT NULL,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    -- pending | approved | rejected | revoked
    status TEXT NOT NULL,
    reason TEXT,
    decided_by TEXT,
    decided_at TEXT,
    expires_at TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX access_applications_by_dataset ON access_applications (dataset_id, status);
CREATE INDEX access_applications_by_user ON access_applications (user_id, dataset_id);

-- Append-only; each entry carries the hash of the one before (a hash chain), so an edited, deleted or inserted row
-- is found by `tapwater audit verify`. Appends are serialized (SQLite's write lock, PostgreSQL's advisory lock),
-- so the chain stays linear with several processes.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    dataset TEXT,
    version_seq INTEGER,
    query TEXT,
    row_count INTEGER,
    outcome TEXT NOT NULL,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_by_dataset ON audit_log (dataset, seq);

-- Usage per day, subject (`key:<id>`, `user:<id>`, `anonymous`) and dataset, added to in batches.
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    subject TEXT NOT NULL,
    dataset TEXT NOT NULL,
    requests INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (day, subject, dataset)
) STRICT;

CREATE INDEX usage_daily_by_dataset ON usage_daily (dataset, day);

-- Token buckets shared by several servers on one PostgreSQL (the embedded default limits in process).
CREATE TABLE rate_buckets (
    bucket TEXT PRIMARY KEY NOT NULL,
    tokens REAL NOT NULL,
    refreshed_ms INTEGER NOT NULL,
    allowed INTEGER NOT NULL
) STRICT;
