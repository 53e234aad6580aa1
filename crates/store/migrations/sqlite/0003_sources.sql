-- Scheduled sources (URL pulls, SQL queries), their runs, and leases on jobs.
-- Filled in by the sources work.
SELECT 1;
