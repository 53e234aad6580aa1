//! Domain types of tapwater, shared by every other crate.
//!
//! This crate knows what a dataset, a version, a field, a publisher, a licence and an actor *are*; it knows nothing
//! about files, databases or HTTP. Everything here is plain data with validation, so the ingest, store, query,
//! application and server crates can agree on meaning without depending on each other.
//!
//! What it does not do: read or write anything, authorize anything (that is `tapwater-app`).

mod access;
mod dataset;
mod field;
mod lang;
mod license;
mod metadata;
mod pipeline;
mod quality;
mod slug;
mod source;

pub use access::{
    AccessApplication, AccessLevel, Actor, ApiKey, ApplicationStatus, AuditEntry, Credential, Membership, Principal,
    Role, Scope, User, is_email_address,
};
pub use dataset::{
    Artefact, ArtefactStatus, Dataset, DatasetInput, DatasetPatch, Frequency, Job, JobError, JobStatus, OriginalFile,
    PipelineRevision, Publisher, SourceFile, Version, VersionSources, VersionSummary,
};
pub use field::{ColumnStats, Field, FieldType, TableSchema};
pub use lang::Lang;
pub use license::{DEFAULT_LICENSE, LICENSES, License, license_by_id};
pub use metadata::{
    Contact, DatasetMetadata, Fee, FeeKind, FieldConstraints, FieldMetadata, ForeignKey, TemporalCoverage,
};
pub use pipeline::{
    NORMALIZER_RULES, Pipeline, PublishMode, SHAPE_RULES, TRANSFORM_EXAMPLES, TransformEntry, TransformExample,
    TransformLog, exact_table_pipeline,
};
pub use quality::{
    Badge, BadgeCriterion, CheckOutcome, Finding, PublisherQualityRow, QualityHistoryEntry, QualityReport, Severity,
    StarLevel,
};
pub use slug::{InvalidSlug, Slug};
pub use source::{
    RunError, RunStatus, RunTrigger, Source, SourceInput, SourceKind, SourceRun, SqlSource, redact_connection,
    redact_url,
};

/// The time zone of every local (offset-less) date-time tapwater reads: Taiwan.
///
/// Taiwanese agencies write local times without an offset; tapwater reads them as Asia/Taipei time (UTC+8, with the
/// historical daylight-saving years handled by the tz database).
pub const LOCAL_TIME_ZONE: &str = "Asia/Taipei";
