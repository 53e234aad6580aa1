//! tapwater's query engine: answers questions about published versions, with no HTTP in it.
//!
//! - [`hot`]: a version loaded into memory as one Arrow batch, with per-column indexes built at load time
//!   (value dictionaries with posting lists, "already sorted" flags, lazily built sort permutations).
//! - [`params`]: the REST query grammar (`col__op=value`, `_sort`, `_fields`, `_limit`, `_cursor` …) parsed once,
//!   against a schema, into typed [`params::RowQuery`] / [`params::AggregateQuery`] values.
//! - [`select`] and [`aggregate`]: the fast path that answers those queries on a hot table with Arrow kernels and
//!   the indexes; [`cursor`] makes the opaque keyset-paging tokens.
//! - [`engine`]: loads versions from Parquet in the object store into an LRU of hot tables bounded by bytes, and runs
//!   read-only SQL in a sandboxed DataFusion session ([`sql`]).
//! - [`encode`]: streams Arrow data out as JSON, NDJSON, CSV and GeoJSON.
//! - [`cache`]: the byte-bounded response cache keyed by (version, normalized query, format).
//!
//! What it does not do: authorize (the application layer decides who may read what) or speak HTTP.

pub mod aggregate;
pub mod cache;
pub mod cursor;
pub mod encode;
pub mod engine;
pub mod error;
pub mod hot;
pub mod params;
pub mod select;
pub mod sql;

pub use error::QueryError;
