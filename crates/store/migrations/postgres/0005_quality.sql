-- Dataset metadata beyond the title (data.gov.tw fields, field descriptions, Table Schema constraints) and the
-- quality report of every version.
--
-- Kept step for step in line with ../sqlite/0005_quality.sql; the test `sqlite_and_postgres_schemas_match`
-- compares the two.

-- A `DatasetMetadata` JSON document, replaced as a whole.
ALTER TABLE datasets ADD COLUMN metadata_json TEXT NOT NULL DEFAULT '{}';

-- One row per version, written `pending` in the publish's own transaction and completed by the checks that run
-- after it (a version is never kept from serving by its checks). What the table checks found never changes; the
-- score, stars and badge are those assessed when the checks ran (the report served is assessed again on read,
-- since metadata and the clock move on).
CREATE TABLE quality_reports (
    version_id TEXT PRIMARY KEY REFERENCES versions (id) ON DELETE CASCADE,
    dataset_id BIGINT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    -- pending | ready | failed
    status TEXT NOT NULL,
    -- The table checks' findings (a JSON array), once ready.
    findings_json TEXT,
    -- The link check of a URL source (JSON), when there is one.
    links_json TEXT,
    score BIGINT,
    stars BIGINT,
    badge TEXT,
    errors BIGINT NOT NULL DEFAULT 0,
    warnings BIGINT NOT NULL DEFAULT 0,
    -- Why the checks failed, when they did.
    detail TEXT,
    -- How long the table checks took, in milliseconds.
    elapsed_ms BIGINT,
    created_at TEXT NOT NULL,
    checked_at TEXT
);

CREATE INDEX quality_reports_by_dataset ON quality_reports (dataset_id, seq);
