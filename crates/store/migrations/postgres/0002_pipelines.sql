-- Pipelines per dataset (revisions) and the files and transform log of each version.
-- Filled in by the pipeline work.
SELECT 1;
