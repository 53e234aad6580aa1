//! tapwater's two storage seams: the **catalog** and the **blob store**.
//!
//! * [`Catalog`] is the metadata database: publishers, datasets, their tags, the list of immutable versions of each
//!   dataset and the status of derived artefacts. It runs over SQLx's `Any` driver on the embedded default, SQLite,
//!   or on PostgreSQL for scale-out; both get the same migration steps (`migrations/sqlite`, `migrations/postgres`)
//!   and the same SQL, and the same test suite runs on both. The catalog is the only mutable state of tapwater:
//!   [`Catalog::commit_version`] is the pointer swap that makes a publish visible.
//! * [`Blobs`] holds version files (Parquet data, original bytes, derived artefacts) through `object_store`: a local
//!   directory by default, `memory://` for tests, an S3-compatible store with the `s3` cargo feature.
//!
//! ```no_run
//! # async fn example() -> Result<(), tapwater_store::StoreError> {
//! use tapwater_store::{Blobs, Catalog, DatasetQuery};
//!
//! let catalog = Catalog::connect("sqlite:///var/lib/tapwater/catalog.db").await?;
//! let blobs = Blobs::open(None, std::path::Path::new("/var/lib/tapwater/files"))?;
//! let page = catalog.list_datasets(&DatasetQuery { text: Some("空氣".into()), ..DatasetQuery::default() }).await?;
//! # let _ = (page, blobs);
//! # Ok(()) }
//! ```
//!
//! What this crate does not do: decide who may do what (that is `tapwater-app`), read or write Parquet (ingest and
//! query), or know anything about HTTP. It never interprets the files it stores.

mod blobs;
mod catalog;
mod error;
mod id;
mod migrations;
mod time;

pub use blobs::Blobs;
pub use catalog::access::{
    AuditRecord, AuditVerdict, DatasetAccess, NewUser, SessionRecord, UsageRow, UserCredentials, audit_entry_hash,
};
pub use catalog::quality::{QualityHistoryRow, StoredQuality};
pub use catalog::sources::{ClaimedJob, DueSource, RunOutcome, SOURCE_JOB_KIND, SourceRecord, SourceSpec};
pub use catalog::{Catalog, DatasetPage, DatasetQuery, DatasetUpdate, DbKind, Drafts, NewDataset, NewVersion};
pub use error::StoreError;
pub use id::{new_version_id, version_id_millis};

/// Helpers for tests of this and other crates; not part of the stable API.
#[doc(hidden)]
pub mod testing;
