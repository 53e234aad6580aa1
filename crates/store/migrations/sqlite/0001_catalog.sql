-- The catalog: publishers, datasets, their tags, immutable versions and the status of derived artefacts.
--
-- Kept step for step in line with ../postgres/0001_catalog.sql; `Catalog::schema_snapshot` and the test
-- `sqlite_and_postgres_schemas_match` compare the two.
--
-- Conventions shared with PostgreSQL so both databases behave the same:
-- * timestamps are TEXT, RFC 3339 UTC with milliseconds (`2026-11-25T21:35:17.123Z`), so they sort as text;
-- * JSON documents (schema, original file, statistics) are TEXT;
-- * every column that PostgreSQL has as NOT NULL is declared NOT NULL here too, including primary keys: SQLite lets
--   a non-INTEGER primary key hold NULL unless told otherwise (https://www.sqlite.org/lang_createtable.html#the_primary_key).
-- Tables are STRICT so a value of the wrong type is refused, as PostgreSQL would.

CREATE TABLE publishers (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE datasets (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    publisher_id INTEGER REFERENCES publishers (id),
    license TEXT NOT NULL,
    frequency TEXT,
    -- Lowercased title, description and tags, written by the application, so text search is the same plain
    -- substring match on both databases (SQLite's lower() folds ASCII only, PostgreSQL's folds all of Unicode).
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- Sequence number of the version served by default; NULL until the first publish commits.
    current_version_seq INTEGER
) STRICT;

CREATE INDEX datasets_by_updated_at ON datasets (updated_at DESC, slug);
CREATE INDEX datasets_by_publisher ON datasets (publisher_id);

CREATE TABLE dataset_tags (
    dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    -- Tags keep the order the publisher gave them.
    position INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, tag)
) STRICT;

CREATE INDEX dataset_tags_by_tag ON dataset_tags (tag);

CREATE TABLE versions (
    id TEXT PRIMARY KEY NOT NULL,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    schema_json TEXT NOT NULL,
    original_json TEXT NOT NULL,
    data_path TEXT NOT NULL,
    original_path TEXT NOT NULL,
    data_bytes INTEGER NOT NULL,
    stats_json TEXT NOT NULL,
    published_by TEXT NOT NULL,
    -- Two concurrent publishes of one dataset can never both get the same number.
    UNIQUE (dataset_id, seq)
) STRICT;

CREATE TABLE version_artefacts (
    version_id TEXT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (version_id, kind)
) STRICT;

-- Long-running work (today: publishes started over HTTP with ?async=1), so a client can follow its progress from
-- any server of a scale-out deployment.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    dataset_slug TEXT NOT NULL,
    -- queued | running | succeeded | failed
    status TEXT NOT NULL,
    stage TEXT,
    done INTEGER NOT NULL,
    total INTEGER NOT NULL,
    version_seq INTEGER,
    error_code TEXT,
    error_message TEXT,
    error_message_zh TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
