//! The error type of both storage seams.

use std::path::PathBuf;

/// What can go wrong in the catalog or the blob store.
///
/// `NotFound`, `Conflict` and `Invalid` describe the caller's request and may be shown to users. The other variants
/// are for operators: their messages come from the database or object-store driver (they never contain SQL text,
/// which SQLx does not put in its error messages), and the application layer maps them to an internal error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The dataset, version, publisher or file does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// Something with the same unique name already exists.
    #[error("{what} already exists")]
    Conflict { what: String },
    /// The request cannot be stored as given (a number out of range, an empty path …).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The catalog database failed (connection lost, disk full, lock timeout …).
    #[error("catalog database error: {0}")]
    Database(String),
    /// Applying the catalog's migrations failed.
    #[error("catalog migration failed: {0}")]
    Migration(String),
    /// The catalog holds a value this version of tapwater cannot read (an unknown frequency, malformed JSON …).
    #[error("catalog holds an unreadable value: {0}")]
    Corrupt(String),
    /// The object store failed.
    #[error("blob store error: {0}")]
    Blob(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A catalog or blob-store URL is malformed or names an unsupported scheme.
    #[error("invalid storage URL: {0}")]
    InvalidUrl(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}
