-- Pipelines per dataset (revisions) and how each version was made (pipeline revision, source files).
--
-- Kept step for step in line with ../sqlite/0002_pipelines.sql; the test `sqlite_and_postgres_schemas_match`
-- compares the two. Same conventions as 0001: timestamps and JSON documents are TEXT.

-- Every change to a dataset's pipeline is a new revision; the current one is the highest. Old revisions are kept so
-- a version can say which pipeline made it and a publisher can see what changed.
CREATE TABLE dataset_pipelines (
    dataset_id BIGINT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    -- The pipeline as JSON (tapwater_types::Pipeline), whatever form the publisher wrote it in.
    pipeline_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (dataset_id, revision)
);

-- The pipeline revision a version was ingested with (NULL: the dataset had none, defaults applied) and the files it
-- was read from, as JSON (name, format, encoding, sha256, bytes, blob path, rows). Versions published before this
-- step have NULL and '[]'. The transform log itself is a blob beside the data: versions/{id}/transforms.json.
ALTER TABLE versions ADD COLUMN pipeline_revision BIGINT;
ALTER TABLE versions ADD COLUMN files_json TEXT NOT NULL DEFAULT '[]';
