//! tapwater-ingest
